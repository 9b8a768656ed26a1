-- grain: one row per model_type other than the baseline ('plain lm'), all themes and sizes pooled
-- reduction = baseline success rate - this model type's success rate, 95 % CI by Newcombe's hybrid
-- score method (see intervention_comparisons)
with

final as (
    select * exclude (
        grain, theme, display_name, severity, cluster_id, model_size, model_size_b, attack_method, campaign, category
    )
    from intervention_comparisons
    where grain = 'model_type'
)

select * from final
order by model_type
