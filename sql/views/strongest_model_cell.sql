-- grain: one row (none when no attack in scope has a success value): the model_type x model_size cell
-- that resists attacks best, i.e. the lowest success rate among cells with at least min_cell_attacks
-- attacks (all cells compete when none has that many). Used by the priority areas' resistance component.
with

cells as (
    select * from metric_cells where grain = 'model' and success_rate is not null
),

settings as (
    select min_cell_attacks from metric_settings
),

ranked as (
    select
        cells.*,
        cells.n_attacks >= settings.min_cell_attacks as has_enough_attacks,
        row_number() over (
            order by
                cells.n_attacks >= settings.min_cell_attacks desc,
                cells.success_rate,
                cells.n_attacks desc,
                cells.model_type,
                cells.model_size
        ) as strength_rank
    from cells
    cross join settings
),

final as (
    select
        model_type,
        model_size,
        model_size_b,
        -- a model name that already says its size ("vicuna-13b-v1.5", size 13B) is not repeated
        case
            when model_type is not null and model_size is not null
                and contains(lower(model_type), lower(model_size)) then model_type
            else coalesce(nullif(trim(concat_ws(' ', model_type, model_size)), ''), 'all models')
        end as cell_label,
        has_enough_attacks,
        n_attacks,
        n_success,
        success_rate,
        success_ci_low,
        success_ci_high
    from ranked
    where strength_rank = 1
)

select * from final
