-- grain: one row per theme x model_type x model_size that has attacks in scope
with

final as (
    select * exclude (grain, cluster_id, attack_method, campaign, category)
    from theme_cells
    where grain = 'theme_model'
)

select * from final
order by theme, model_type, model_size_b, model_size
