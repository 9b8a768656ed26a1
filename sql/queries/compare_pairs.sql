-- grain: one row per paired attack: a pair key with at least one judged attempt (success not null) in each
-- of scope A and scope B. The key is the attack text, or the intent (task_description) when
-- $pair_on = 'task_description'; trimmed, and an empty key pairs with nothing. Reads the CTEs scope_a and
-- scope_b (sql.compare). A key attempted several times in one scope succeeds there when any attempt
-- succeeded (success_a / success_b); n_attempts_* and n_success_attempts_* keep the counts.
-- outcome: 'newly succeeding' (fails in A, succeeds in B), 'newly failing', 'both succeed', 'both fail'.
-- attack_id_a / attack_id_b: a representative attempt of each scope (a successful one if any, then the
-- first in input order). theme and attack_method are B's (the smallest value when its attempts differ),
-- else A's. Records flagged is_duplicate are left out. docs/metrics.md#paired-comparison
with

-- both scopes' rows, each tagged with its side
sides as (
    select 'a' as side, * from scope_a
    union all by name
    select 'b' as side, * from scope_b
),

attempts as (
    select
        side,
        attack_id,
        nullif(trim(case when $pair_on::varchar = 'task_description' then task_description else attack_text end), '')
            as pair_key,
        theme,
        attack_method,
        model,
        success,
        source_file,
        source_row
    from sides
    where not is_duplicate and success is not null
),

per_key as (
    select
        pair_key,
        count(*) filter (where side = 'a') as n_attempts_a,
        count(*) filter (where side = 'a' and success) as n_success_attempts_a,
        count(*) filter (where side = 'b') as n_attempts_b,
        count(*) filter (where side = 'b' and success) as n_success_attempts_b,
        coalesce(min(theme) filter (where side = 'b'), min(theme) filter (where side = 'a')) as theme,
        coalesce(min(attack_method) filter (where side = 'b'), min(attack_method) filter (where side = 'a'))
            as attack_method,
        arg_min(attack_id, (not success, source_file, source_row, attack_id)) filter (where side = 'a')
            as attack_id_a,
        arg_min(attack_id, (not success, source_file, source_row, attack_id)) filter (where side = 'b')
            as attack_id_b,
        arg_min(model, (not success, source_file, source_row, attack_id)) filter (where side = 'a') as model_a,
        arg_min(model, (not success, source_file, source_row, attack_id)) filter (where side = 'b') as model_b
    from attempts
    where pair_key is not null
    group by pair_key
),

final as (
    select
        per_key.pair_key,
        per_key.theme,
        coalesce(t.display_name, per_key.theme, '(no theme)') as theme_name,
        attack_method,
        n_success_attempts_a > 0 as success_a,
        n_success_attempts_b > 0 as success_b,
        case
            when n_success_attempts_a = 0 and n_success_attempts_b > 0 then 'newly succeeding'
            when n_success_attempts_a > 0 and n_success_attempts_b = 0 then 'newly failing'
            when n_success_attempts_a > 0 then 'both succeed'
            else 'both fail'
        end as outcome,
        n_attempts_a,
        n_success_attempts_a,
        n_attempts_b,
        n_success_attempts_b,
        attack_id_a,
        model_a,
        attack_id_b,
        model_b
    from per_key
    left join themes as t on t.theme = per_key.theme
    where n_attempts_a > 0 and n_attempts_b > 0
)

select * from final
