-- grain: one row per model_type in scope, all sizes pooled
with

cells as (
    select * from metric_cells where grain = 'model_type'
),

settings as (
    select baseline_model_type from metric_settings
),

final as (
    select
        cells.model_type,
        coalesce(cells.model_type = settings.baseline_model_type, false) as is_baseline,
        cells.* exclude (
            grain, theme, cluster_id, model_type, model_size, model_size_b, attack_method, campaign, category
        )
    from cells
    cross join settings
)

select * from final
order by model_type
