-- grain: one row per group of paired attacks (compare_pairs) at each `grain`: 'all' · 'theme' ·
-- 'attack_method' (keys outside the grain are null). McNemar's test uses the discordant counts:
-- n_newly_succeeding (fail in A, succeed in B) and n_newly_failing (succeed in A, fail in B); its exact
-- p-value (binomial, p = 1/2) is computed from them by sql.compare. docs/metrics.md#paired-comparison
with

counted as (
    select
        case grouping(theme, attack_method)
            when 3 then 'all'
            when 1 then 'theme'
            when 2 then 'attack_method'
        end as grain,
        theme,
        attack_method,
        count(*) as n_pairs,
        count(*) filter (where outcome = 'both succeed') as n_both_succeed,
        count(*) filter (where outcome = 'newly succeeding') as n_newly_succeeding,
        count(*) filter (where outcome = 'newly failing') as n_newly_failing,
        count(*) filter (where outcome = 'both fail') as n_both_fail
    from compare_pairs
    group by grouping sets ((), (theme), (attack_method))
),

-- the attack_method grain only when some paired attack names a method
has_methods as (
    select count(attack_method) > 0 as any_method from compare_pairs
),

final as (
    select
        counted.*,
        case counted.grain
            when 'all' then 'All paired attacks'
            when 'theme' then coalesce(t.display_name, counted.theme, '(no theme)')
            else coalesce(counted.attack_method, '(no method)')
        end as group_name,
        (n_both_succeed + n_newly_failing) / nullif(n_pairs, 0) as paired_success_rate_a,
        (n_both_succeed + n_newly_succeeding) / nullif(n_pairs, 0) as paired_success_rate_b,
        (n_newly_succeeding - n_newly_failing) / nullif(n_pairs, 0) as paired_difference
    from counted
    cross join has_methods
    left join themes as t on counted.grain = 'theme' and t.theme = counted.theme
    where grain <> 'attack_method' or has_methods.any_method
)

select * from final
order by
    case grain when 'all' then 0 when 'theme' then 1 else 2 end,
    n_newly_succeeding - n_newly_failing desc, theme, attack_method
