-- grain: one row per theme of the taxonomy in use
create table themes (
    theme varchar primary key,
    display_name varchar not null,
    description varchar,
    exemplars varchar[],
    severity integer not null  -- 1–5
)
