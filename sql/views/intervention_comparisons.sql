-- grain: one row per model type other than the baseline ('plain lm', see metric_settings) at each
-- grouping where it is compared with the baseline:
--   'theme_model_type' theme x model_type, sizes pooled, vs the baseline's pooled sizes in that theme
--   'theme_model'      theme x model_type x model_size, vs the baseline at the same size in that theme
--   'model_type'       model_type over all themes, vs the baseline over all themes
-- reduction = baseline success rate - success rate (positive: the intervention lowers success), with
-- Newcombe's hybrid score interval (method 10) built from the two Wilson intervals; is_reduction_significant
-- = the interval lies above 0. Baseline columns are null where the baseline has no attacks at that grouping.
-- intervention_effects, intervention_effects_by_size and intervention_summary are its grains, named.
with

settings as (
    select baseline_model_type from metric_settings
),

-- the theme groupings carry the taxonomy's display_name and severity (null at 'model_type')
cells as (
    select * from theme_cells where grain in ('theme_model_type', 'theme_model')
    union all by name
    select * from metric_cells where grain = 'model_type'
),

-- no rows at all when the baseline has no attacks in scope (e.g. tool outputs, whose model_type is a model name)
treated as (
    select cells.*
    from cells
    cross join settings
    where
        cells.model_type <> settings.baseline_model_type
        and exists (select 1 from cells as b where b.model_type = settings.baseline_model_type)
),

baseline as (
    select cells.*
    from cells
    cross join settings
    where cells.model_type = settings.baseline_model_type
),

paired as (
    select
        treated.*,
        settings.baseline_model_type,
        baseline.n_attacks as baseline_n_attacks,
        baseline.n_success as baseline_n_success,
        baseline.success_rate as baseline_success_rate,
        baseline.success_ci_low as baseline_success_ci_low,
        baseline.success_ci_high as baseline_success_ci_high
    from treated
    cross join settings
    left join baseline
        on baseline.grain = treated.grain
        and baseline.theme is not distinct from treated.theme
        and baseline.model_size is not distinct from treated.model_size
),

reductions as (
    select
        paired.*,
        baseline_success_rate - success_rate as reduction,
        -- Newcombe's interval of baseline - treated (sql/macros)
        newcombe_low(success_rate, success_ci_low, success_ci_high,
                     baseline_success_rate, baseline_success_ci_low, baseline_success_ci_high) as reduction_ci_low,
        newcombe_high(success_rate, success_ci_low, success_ci_high,
                      baseline_success_rate, baseline_success_ci_low, baseline_success_ci_high) as reduction_ci_high,
        (baseline_success_rate - success_rate) / nullif(baseline_success_rate, 0) as relative_reduction
    from paired
),

-- the column order the intervention views show: grain keys, the baseline, the reduction, the metric block
final as (
    select
        grain, theme, display_name, severity, cluster_id, model_type, model_size, model_size_b, attack_method,
        campaign, category,
        baseline_model_type,
        baseline_n_attacks,
        baseline_n_success,
        baseline_success_rate,
        baseline_success_ci_low,
        baseline_success_ci_high,
        reduction,
        reduction_ci_low,
        reduction_ci_high,
        relative_reduction,
        coalesce(reduction_ci_low > 0, false) as is_reduction_significant,
        reductions.* exclude (
            grain, theme, display_name, severity, cluster_id, model_type, model_size, model_size_b, attack_method,
            campaign, category,
            baseline_model_type,
            baseline_n_attacks, baseline_n_success, baseline_success_rate, baseline_success_ci_low,
            baseline_success_ci_high, reduction, reduction_ci_low, reduction_ci_high, relative_reduction
        )
    from reductions
)

select * from final
