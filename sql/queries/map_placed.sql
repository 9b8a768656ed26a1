-- grain: one attack of `scope` (the caller's CTE over attacks_in_scope.sql) that has a map position inside the
-- optional region: attack_id, cluster_id, x, y, success, the extent of all of them (x0, x1, y0, y1) and the
-- attack's cell on a $grid x $grid grid over that extent. Narrow on purpose: sampling and counting a million
-- rows stays cheap; the caller joins the sampled ids back to `scope` for the columns it shows.
--   $x_min, $x_max, $y_min, $y_max   double: inclusive bounds of a region of the map (null = unbounded)
--   $grid                            integer: cells per axis (cell_x, cell_y in 0 .. $grid - 1)
with

placed as (
    select attack_id, cluster_id, x, y, success
    from scope
    where
        x is not null and y is not null
        and ($x_min::double is null or x >= $x_min::double)
        and ($x_max::double is null or x <= $x_max::double)
        and ($y_min::double is null or y >= $y_min::double)
        and ($y_max::double is null or y <= $y_max::double)
),

extent as (
    select min(x) as x0, max(x) as x1, min(y) as y0, max(y) as y1 from placed
)

select
    placed.*,
    extent.x0, extent.x1, extent.y0, extent.y1,
    coalesce(least(floor((placed.x - extent.x0) / nullif(extent.x1 - extent.x0, 0) * $grid::integer),
                   $grid::integer - 1), 0)::integer as cell_x,
    coalesce(least(floor((placed.y - extent.y0) / nullif(extent.y1 - extent.y0, 0) * $grid::integer),
                   $grid::integer - 1), 0)::integer as cell_y
from placed cross join extent
