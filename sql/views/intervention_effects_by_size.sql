-- grain: one row per theme x model_type (other than the baseline 'plain lm') x model_size, vs the baseline at the same size
-- reduction = baseline success rate - this model type's success rate, 95 % CI by Newcombe's hybrid
-- score method; relative_reduction = reduction / baseline success rate (see intervention_comparisons)
with

final as (
    select * exclude (grain, cluster_id, attack_method, campaign, category)
    from intervention_comparisons
    where grain = 'theme_model'
)

select * from final
order by theme, model_type, model_size_b, model_size
