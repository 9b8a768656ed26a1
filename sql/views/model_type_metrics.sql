-- grain: one row per model_type in scope, all sizes pooled
with

final as (
    select * exclude (grain, model_size, model_size_b)
    from model_cells
    where grain = 'model_type'
)

select * from final
order by model_type
