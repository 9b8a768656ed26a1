-- grain: one row: metric_settings with the caller's $tail_threshold (NULL = the default in the view).
-- Used by sql.scoped() as the CTE named metric_settings; inside it, metric_settings is the view.
select
    * replace (coalesce($tail_threshold::double, tail_threshold) as tail_threshold)
from metric_settings
