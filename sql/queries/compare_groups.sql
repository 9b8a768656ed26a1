-- grain: one row per group compared between scope A and scope B, at each `grain`:
--   'all' (every attack) · 'theme' · 'cluster' (cluster_id) · 'attack_method'
-- Keys outside the grain are null; group_name is the theme's display name, the cluster's label, the method or
-- 'All attacks'. Reads the CTEs scope_a and scope_b (the attacks in each scope, built by
-- sql.compare from queries/attacks_in_scope.sql with parameters $a_* and $b_*) and metric_settings.
-- difference = success_rate_b - success_rate_a (positive: attacks succeed more often in B = B is worse), with
-- Newcombe's hybrid score interval (method 10) from the two Wilson intervals, as intervention_comparisons:
--   at 95 % (metric_settings.z): difference_ci_low/high;
--   Bonferroni-adjusted (difference_ci_low/high_adjusted): each grain is one family of n_compared tests
--   (groups with success data in both scopes), each interval at level 1 - 0.05 / n_compared.
-- is_small: either scope has fewer than min_cell_attacks (metric_settings) judged attacks in the group.
-- change: 'regression' (adjusted interval above 0), 'improvement' (below 0), 'no clear change', or
-- 'not compared' (a scope has no success data for the group). weakness_rank: themes and clusters that
-- regress, ranked by the adjusted lower bound of the rise (1 = surest and largest), null otherwise.
-- Records flagged is_duplicate are left out, as in metric_cells. docs/metrics.md#comparing-two-scopes
with

settings as (
    select
        z,
        min_cell_attacks,
        -- the family-wise error rate of the adjusted intervals (the two-sided level of z)
        cast(0.05 as double) as family_alpha
    from metric_settings
),

sides as (
    select 'a' as side, theme, cluster_id, attack_method, success from scope_a where not is_duplicate
    union all
    select 'b' as side, theme, cluster_id, attack_method, success from scope_b where not is_duplicate
),

grouped as (
    select
        side,
        -- bit set = column rolled up; order: theme, cluster_id, attack_method
        case grouping(theme, cluster_id, attack_method)
            when 7 then 'all'
            when 3 then 'theme'
            when 5 then 'cluster'
            when 6 then 'attack_method'
        end as grain,
        theme,
        cluster_id,
        attack_method,
        count(*) as n_attacks,
        count(success) as n_judged,
        count(*) filter (where success) as n_success
    from sides
    group by grouping sets ((side), (side, theme), (side, cluster_id), (side, attack_method))
),

-- the attack_method grain only when some attack in either scope names a method
has_methods as (
    select count(attack_method) > 0 as any_method from sides
),

side_a as (
    select * from grouped where side = 'a'
),

side_b as (
    select * from grouped where side = 'b'
),

joined as (
    select
        coalesce(side_a.grain, side_b.grain) as grain,
        coalesce(side_a.theme, side_b.theme) as theme,
        coalesce(side_a.cluster_id, side_b.cluster_id) as cluster_id,
        coalesce(side_a.attack_method, side_b.attack_method) as attack_method,
        coalesce(side_a.n_attacks, 0) as n_attacks_a,
        coalesce(side_a.n_judged, 0) as n_judged_a,
        case when side_a.n_judged > 0 then side_a.n_success end as n_success_a,
        side_a.n_success / nullif(side_a.n_judged, 0) as p_a,
        coalesce(side_b.n_attacks, 0) as n_attacks_b,
        coalesce(side_b.n_judged, 0) as n_judged_b,
        case when side_b.n_judged > 0 then side_b.n_success end as n_success_b,
        side_b.n_success / nullif(side_b.n_judged, 0) as p_b
    from side_a
    full join side_b
        on side_a.grain = side_b.grain
        and side_a.theme is not distinct from side_b.theme
        and side_a.cluster_id is not distinct from side_b.cluster_id
        and side_a.attack_method is not distinct from side_b.attack_method
    cross join has_methods
    where coalesce(side_a.grain, side_b.grain) <> 'attack_method' or has_methods.any_method
),

families as (
    select
        grain,
        count(*) filter (where n_judged_a > 0 and n_judged_b > 0) as n_compared
    from joined
    group by grain
),

-- the adjusted normal quantile z_adjusted = Phi^-1(1 - alpha / 2), alpha = family_alpha / n_compared, by
-- Acklam's rational approximation of the inverse normal CDF (relative error below 1e-7 in z) at p = alpha / 2:
-- the lower-tail formula below p = 0.02425, the central one above; one comparison keeps metric_settings.z
levels as (
    select
        f.grain,
        f.n_compared,
        s.family_alpha / greatest(f.n_compared, 1) as alpha_adjusted,
        s.family_alpha / greatest(f.n_compared, 1) / 2 as p_tail,
        sqrt(-2 * ln(s.family_alpha / greatest(f.n_compared, 1) / 2)) as q_tail,
        s.family_alpha / greatest(f.n_compared, 1) / 2 - 0.5 as q_mid
    from families as f
    cross join settings as s
),

quantiles as (
    select
        l.grain,
        l.n_compared,
        l.alpha_adjusted,
        case
            when l.n_compared <= 1 then s.z
            when l.p_tail < 0.02425 then -(
                ((((-7.784894002430293e-03 * l.q_tail - 3.223964580411365e-01) * l.q_tail - 2.400758277161838e+00)
                    * l.q_tail - 2.549732539343734e+00) * l.q_tail + 4.374664141464968e+00) * l.q_tail
                + 2.938163982698783e+00
            ) / (
                (((7.784695709041462e-03 * l.q_tail + 3.224671290700398e-01) * l.q_tail + 2.445134137142996e+00)
                    * l.q_tail + 3.754408361280485e+00) * l.q_tail + 1
            )
            else -(
                (((((-3.969683028665376e+01 * l.q_mid ^ 2 + 2.209460984245205e+02) * l.q_mid ^ 2
                    - 2.759285104469687e+02) * l.q_mid ^ 2 + 1.383577518672690e+02) * l.q_mid ^ 2
                    - 3.066479806614716e+01) * l.q_mid ^ 2 + 2.506628277459239e+00) * l.q_mid
            ) / (
                ((((-5.447609879822406e+01 * l.q_mid ^ 2 + 1.615858368580409e+02) * l.q_mid ^ 2
                    - 1.556989798598866e+02) * l.q_mid ^ 2 + 6.680131188771972e+01) * l.q_mid ^ 2
                    - 1.328068155288572e+01) * l.q_mid ^ 2 + 1
            )
        end as z_adjusted
    from levels as l
    cross join settings as s
),

-- each side's rate at both levels: 95 % (metric_settings.z) and adjusted (z_adjusted)
wilson_inputs as (
    select j.grain, j.theme, j.cluster_id, j.attack_method, 'a' as side, j.n_judged_a as n, j.p_a as p from joined as j
    union all
    select j.grain, j.theme, j.cluster_id, j.attack_method, 'b' as side, j.n_judged_b as n, j.p_b as p from joined as j
),

wilson_levels as (
    select q.grain, false as adjusted, s.z as zz from quantiles as q cross join settings as s
    union all
    select q.grain, true as adjusted, q.z_adjusted as zz from quantiles as q
),

wilson as (
    select w.*, lv.adjusted, lv.zz
    from wilson_inputs as w
    inner join wilson_levels as lv on lv.grain = w.grain
),

-- Wilson score interval (sql/macros, as metric_cells)
bounds as (
    select
        grain, theme, cluster_id, attack_method, side, adjusted,
        wilson_low(p, n, zz) as low,
        wilson_high(p, n, zz) as high
    from wilson
),

intervals as (
    select
        grain, theme, cluster_id, attack_method,
        max(low) filter (where side = 'a' and not adjusted) as ci_low_a,
        max(high) filter (where side = 'a' and not adjusted) as ci_high_a,
        max(low) filter (where side = 'b' and not adjusted) as ci_low_b,
        max(high) filter (where side = 'b' and not adjusted) as ci_high_b,
        max(low) filter (where side = 'a' and adjusted) as adj_low_a,
        max(high) filter (where side = 'a' and adjusted) as adj_high_a,
        max(low) filter (where side = 'b' and adjusted) as adj_low_b,
        max(high) filter (where side = 'b' and adjusted) as adj_high_b
    from bounds
    group by grain, theme, cluster_id, attack_method
),

differences as (
    select
        j.*,
        q.n_compared,
        q.alpha_adjusted,
        q.z_adjusted,
        s.min_cell_attacks,
        i.ci_low_a, i.ci_high_a, i.ci_low_b, i.ci_high_b,
        j.p_b - j.p_a as difference,
        newcombe_low(j.p_a, i.ci_low_a, i.ci_high_a, j.p_b, i.ci_low_b, i.ci_high_b) as difference_ci_low,
        newcombe_high(j.p_a, i.ci_low_a, i.ci_high_a, j.p_b, i.ci_low_b, i.ci_high_b) as difference_ci_high,
        newcombe_low(j.p_a, i.adj_low_a, i.adj_high_a, j.p_b, i.adj_low_b, i.adj_high_b) as difference_ci_low_adjusted,
        newcombe_high(j.p_a, i.adj_low_a, i.adj_high_a, j.p_b, i.adj_low_b, i.adj_high_b)
            as difference_ci_high_adjusted
    from joined as j
    inner join quantiles as q on q.grain = j.grain
    cross join settings as s
    left join intervals as i
        on i.grain = j.grain
        and i.theme is not distinct from j.theme
        and i.cluster_id is not distinct from j.cluster_id
        and i.attack_method is not distinct from j.attack_method
),

flagged as (
    select
        *,
        case
            when difference is null then 'not compared'
            when difference_ci_low_adjusted > 0 then 'regression'
            when difference_ci_high_adjusted < 0 then 'improvement'
            else 'no clear change'
        end as change,
        least(n_judged_a, n_judged_b) < min_cell_attacks as is_small
    from differences
),

names as (
    select
        f.*,
        case f.grain
            when 'all' then 'All attacks'
            when 'theme' then coalesce(t.display_name, f.theme, '(no theme)')
            when 'cluster' then coalesce(c.label, 'cluster ' || f.cluster_id, '(no cluster)')
            else coalesce(f.attack_method, '(no method)')
        end as group_name
    from flagged as f
    left join themes as t on f.grain = 'theme' and t.theme = f.theme
    left join clusters as c on f.grain = 'cluster' and c.cluster_id = f.cluster_id
),

final as (
    select
        grain, theme, cluster_id, attack_method, group_name,
        n_attacks_a, n_judged_a, n_success_a, p_a as success_rate_a, ci_low_a as success_ci_low_a,
        ci_high_a as success_ci_high_a,
        n_attacks_b, n_judged_b, n_success_b, p_b as success_rate_b, ci_low_b as success_ci_low_b,
        ci_high_b as success_ci_high_b,
        difference, difference_ci_low, difference_ci_high,
        n_compared, alpha_adjusted, z_adjusted, difference_ci_low_adjusted, difference_ci_high_adjusted,
        change,
        is_small,
        min_cell_attacks,
        case when change = 'regression' and grain in ('theme', 'cluster') then
            row_number() over (
                partition by grain, change = 'regression' and grain in ('theme', 'cluster')
                order by difference_ci_low_adjusted desc, difference desc, theme, cluster_id
            )
        end as weakness_rank
    from names
)

select * from final
order by
    case grain when 'all' then 0 when 'theme' then 1 when 'attack_method' then 2 else 3 end,
    difference desc nulls last, theme, cluster_id, attack_method
