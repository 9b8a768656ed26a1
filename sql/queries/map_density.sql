-- grain: one non-empty cell of a $grid x $grid grid over `placed` (map_placed.sql): every attack counted, none
-- sampled. cell_x/cell_y index the grid; x/y are the cell's centre; n its attacks, n_success the successful ones;
-- x0, x1, y0, y1 the extent the grid covers (the same on every row).
select
    cell_x,
    cell_y,
    any_value(x0) + (cell_x + 0.5) * (any_value(x1) - any_value(x0)) / $grid::integer as x,
    any_value(y0) + (cell_y + 0.5) * (any_value(y1) - any_value(y0)) / $grid::integer as y,
    any_value(x0) as x0,
    any_value(x1) as x1,
    any_value(y0) as y0,
    any_value(y1) as y1,
    count(*) as n,
    count(*) filter (where success) as n_success
from placed
group by cell_x, cell_y

