-- grain: one row per model_type x model_size in scope (the paper's Fig. 1: one line per model type over size)
with

final as (
    select * exclude (grain)
    from model_cells
    where grain = 'model'
)

select * from final
order by model_type, model_size_b, model_size
