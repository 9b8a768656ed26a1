-- grain: the attack_id of one attack of `placed` (map_placed.sql) drawn on the attack map; at most $max_points.
-- A deterministic sample stratified by cluster and, inside a cluster, by grid cell, so its density follows the
-- data's:
--   * quota: every cluster (noise -1 and unclustered null included) keeps min(n, keep) attacks, keep =
--     $keep_whole (lowered when there are many clusters), so small clusters are whole and none disappears; what
--     is left of $max_points is shared in proportion to size (floored, so the quotas never sum above it);
--   * candidates: an attack is a candidate when the hash of its id, as a fraction 0-1, is below
--     (1.25 * quota + 32) / n (1 for clusters kept whole): a uniform subset a little larger than the quota, so
--     the exact ranking below sorts tens of thousands of rows, not millions;
--   * inside a cluster, each candidate's quantile inside its grid cell decides (then the hash), so each cell
--     gives the same fraction of its attacks. When everything fits, everything is kept.
--   $max_points   integer: the most attacks to return
--   $keep_whole   integer: clusters up to this size are kept whole (lowered to $max_points / clusters)
with

strata as (
    select coalesce(cluster_id, -2) as stratum, count(*) as n from placed group by stratum
),

budget as (
    select
        keep,
        greatest(0, ($max_points::bigint - sum(least(n, keep))) / nullif(sum(n - least(n, keep)), 0)) as share
    from strata
    cross join (
        select greatest(1, least($keep_whole::bigint, $max_points::bigint // nullif(count(*), 0))) as keep
        from strata
    )
    group by keep
),

quota as (
    select stratum, n, q, least(1.0, (1.25 * q + 32) / n) as threshold
    from (
        select
            strata.stratum,
            strata.n,
            least(strata.n, budget.keep)
            + floor(coalesce(budget.share, 0) * (strata.n - least(strata.n, budget.keep))) as q
        from strata cross join budget
    )
),

candidates as (
    select placed.attack_id, quota.stratum, quota.q, placed.cell_x, placed.cell_y, hash(placed.attack_id) as h
    from placed
    inner join quota on coalesce(placed.cluster_id, -2) = quota.stratum
    where hash(placed.attack_id) / 18446744073709551616.0 < quota.threshold
),

quantiles as (
    select
        *,
        (row_number() over (partition by stratum, cell_x, cell_y order by h, attack_id) - 0.5)
        / count(*) over (partition by stratum, cell_x, cell_y) as cell_quantile
    from candidates
),

ranked as (
    select *, row_number() over (partition by stratum order by cell_quantile, h, attack_id) as pick
    from quantiles
)

select attack_id
from ranked
where pick <= q
order by pick, h, attack_id
limit $max_points
