-- grain: one row per theme x model_type (other than the baseline 'plain lm') x model_size, vs the baseline at the same size
-- reduction = baseline success rate - this model type's success rate, 95 % CI by Newcombe's hybrid
-- score method; relative_reduction = reduction / baseline success rate (see intervention_comparisons)
with

comparisons as (
    select * from intervention_comparisons where grain = 'theme_model'
),

taxonomy as (
    select theme, display_name, severity from themes
),

final as (
    select
        comparisons.theme,
        coalesce(taxonomy.display_name, comparisons.theme) as display_name,
        taxonomy.severity,
        comparisons.model_type,
        comparisons.model_size,
        comparisons.model_size_b,
        comparisons.baseline_model_type,
        comparisons.baseline_n_attacks,
        comparisons.baseline_n_success,
        comparisons.baseline_success_rate,
        comparisons.baseline_success_ci_low,
        comparisons.baseline_success_ci_high,
        comparisons.reduction,
        comparisons.reduction_ci_low,
        comparisons.reduction_ci_high,
        comparisons.relative_reduction,
        coalesce(comparisons.reduction_ci_low > 0, false) as is_reduction_significant,
        comparisons.* exclude (
            grain, theme, cluster_id, model_type, model_size, model_size_b, attack_method, campaign, category,
            baseline_model_type,
            baseline_n_attacks, baseline_n_success, baseline_success_rate, baseline_success_ci_low,
            baseline_success_ci_high, reduction, reduction_ci_low, reduction_ci_high, relative_reduction
        )
    from comparisons
    left join taxonomy on taxonomy.theme = comparisons.theme
)

select * from final
order by theme, model_type, model_size_b, model_size
