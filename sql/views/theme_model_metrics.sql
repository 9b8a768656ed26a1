-- grain: one row per theme x model_type x model_size that has attacks in scope
with

cells as (
    select * from metric_cells where grain = 'theme_model'
),

taxonomy as (
    select theme, display_name, severity from themes
),

final as (
    select
        cells.theme,
        coalesce(taxonomy.display_name, cells.theme) as display_name,
        taxonomy.severity,
        cells.model_type,
        cells.model_size,
        cells.model_size_b,
        cells.* exclude (
            grain, theme, cluster_id, model_type, model_size, model_size_b, attack_method, campaign, category
        )
    from cells
    left join taxonomy on taxonomy.theme = cells.theme
)

select * from final
order by theme, model_type, model_size_b, model_size
