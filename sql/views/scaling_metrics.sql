-- grain: one row per model_type x model_size in scope (the paper's Fig. 1: one line per model type over size)
with

cells as (
    select * from metric_cells where grain = 'model'
),

settings as (
    select baseline_model_type from metric_settings
),

final as (
    select
        cells.model_type,
        cells.model_size,
        cells.model_size_b,
        coalesce(cells.model_type = settings.baseline_model_type, false) as is_baseline,
        cells.* exclude (
            grain, theme, cluster_id, model_type, model_size, model_size_b, attack_method, campaign, category
        )
    from cells
    cross join settings
)

select * from final
order by model_type, model_size_b, model_size
