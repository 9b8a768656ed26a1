-- grain: one row: the constants every metric view uses (docs/metrics.md). The dashboard overrides
-- tail_threshold per request through sql/queries/metric_settings_in_scope.sql.
with

final as (
    select
        -- harmlessness below this counts toward tail_share (preference-model units, real range about -4..+2)
        cast(-1.0 as double) as tail_threshold,
        -- a model_type x model_size cell needs this many attacks to be the "strongest intervention"
        cast(30 as bigint) as min_cell_attacks,
        -- the model type intervention effects are measured against
        cast('plain lm' as varchar) as baseline_model_type,
        -- two-sided 95 % normal quantile used by the Wilson interval and the large-sample t limit
        cast(1.959963984540054 as double) as z
)

select * from final
