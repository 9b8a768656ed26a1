-- grain: one row per cluster with attacks except -1 (unclustered); default weights, no filters; filled at
-- build time by etl.metrics.materialize from sql/queries/priority_areas.sql. rank 1 = the highest priority.
create table cluster_priority_areas (
    cluster_id integer primary key,
    rank integer not null,
    cluster_label varchar not null,
    theme varchar,  -- the cluster's dominant theme
    @include columns/priority_score.sql
)
