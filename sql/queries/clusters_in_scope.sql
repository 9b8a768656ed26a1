-- grain: one row per published cluster that still stands after the analysts' corrections: the `clusters` table
-- with corrected labels and themes (annotations/overlay.py, docs/annotations.md); a cluster merged into
-- another is left out (its attacks carry the other cluster's id in attacks_in_scope.sql).
select
    c.* replace (
        coalesce(cc.label, c.label) as label,
        coalesce(cc.theme, c.theme) as theme
    )
from clusters as c
left join rtr_annotations.main.cluster_corrections as cc on cc.cluster_id = c.cluster_id
where cc.merged_into is null
