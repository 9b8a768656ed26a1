-- grain: one row per theme that has attacks in scope
with

final as (
    select * exclude (grain, cluster_id, model_type, model_size, model_size_b, attack_method, campaign, category)
    from theme_cells
    where grain = 'theme'
)

select * from final
order by n_attacks desc, theme
