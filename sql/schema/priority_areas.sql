-- grain: one row per theme with attacks (default weights, no filters); filled at build time by
-- etl.metrics.materialize from sql/queries/priority_areas.sql. rank 1 = the highest priority.
create table priority_areas (
    theme varchar primary key,
    rank integer not null,
    display_name varchar not null,
    @include columns/priority_score.sql
)
