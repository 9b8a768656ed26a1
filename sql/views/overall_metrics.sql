-- grain: one row: every attack in scope (the dashboard's headline numbers)
with

cells as (
    select * from metric_cells where grain = 'all'
),

settings as (
    select * from metric_settings
),

final as (
    select
        settings.tail_threshold,
        cells.* exclude (
            grain, theme, cluster_id, model_type, model_size, model_size_b, attack_method, campaign, category
        )
    from cells
    cross join settings
)

select * from final
