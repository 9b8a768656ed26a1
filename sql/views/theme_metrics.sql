-- grain: one row per theme that has attacks in scope
with

cells as (
    select * from metric_cells where grain = 'theme'
),

taxonomy as (
    select theme, display_name, severity from themes
),

final as (
    select
        cells.theme,
        coalesce(taxonomy.display_name, cells.theme) as display_name,
        taxonomy.severity,
        cells.* exclude (
            grain, theme, cluster_id, model_type, model_size, model_size_b, attack_method, campaign, category
        )
    from cells
    left join taxonomy on taxonomy.theme = cells.theme
)

select * from final
order by n_attacks desc, theme
