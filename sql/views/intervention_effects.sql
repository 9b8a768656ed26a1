-- grain: one row per theme x model_type (other than the baseline 'plain lm'), sizes pooled
-- reduction = baseline success rate - this model type's success rate, 95 % CI by Newcombe's hybrid
-- score method; relative_reduction = reduction / baseline success rate (see intervention_comparisons)
with

comparisons as (
    select * from intervention_comparisons where grain = 'theme_model_type'
),

taxonomy as (
    select theme, display_name, severity from themes
),

final as (
    select
        comparisons.theme,
        coalesce(taxonomy.display_name, comparisons.theme) as display_name,
        taxonomy.severity,
        comparisons.* exclude (
            grain, theme, cluster_id, model_size, model_size_b, attack_method, campaign, category
        )
    from comparisons
    left join taxonomy on taxonomy.theme = comparisons.theme
)

select * from final
order by theme, model_type
