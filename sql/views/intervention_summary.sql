-- grain: one row per model_type other than the baseline ('plain lm'), all themes and sizes pooled
-- reduction = baseline success rate - this model type's success rate, 95 % CI by Newcombe's hybrid
-- score method (see intervention_comparisons)
with

comparisons as (
    select * from intervention_comparisons where grain = 'model_type'
),

final as (
    select
        comparisons.* exclude (
            grain, theme, cluster_id, model_size, model_size_b, attack_method, campaign, category
        )
    from comparisons
)

select * from final
order by model_type
