-- grain: one row per cluster, including -1 "unclustered"
create table clusters (
    cluster_id integer primary key,
    label varchar not null,
    keywords varchar[],
    representative_ids varchar[],  -- 3–5 attack_ids nearest the centroid
    n_attacks bigint not null,
    centroid_x double,
    centroid_y double,
    theme varchar  -- the cluster's dominant theme
)
