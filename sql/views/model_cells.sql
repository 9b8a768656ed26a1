-- grain: one row per metric_cells group keyed by model only ('model' = model_type x model_size,
-- 'model_type' = sizes pooled), with is_baseline: the model type is the baseline of metric_settings
with

cells as (
    select * from metric_cells where grain in ('model', 'model_type')
),

settings as (
    select baseline_model_type from metric_settings
),

final as (
    select
        cells.grain,
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
