-- grain: one row per metric_cells group keyed by a theme ('theme', 'theme_model', 'theme_model_type',
-- 'theme_attack_method', 'theme_campaign'), with the taxonomy's display name (the theme id when the
-- taxonomy lacks it) and severity after the theme; the theme views and the intervention views read this
with

cells as (
    select * from metric_cells where theme is not null
),

taxonomy as (
    select theme, display_name, severity from themes
),

final as (
    select
        cells.grain,
        cells.theme,
        coalesce(taxonomy.display_name, cells.theme) as display_name,
        taxonomy.severity,
        cells.* exclude (grain, theme)
    from cells
    left join taxonomy on taxonomy.theme = cells.theme
)

select * from final
