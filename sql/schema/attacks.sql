-- grain: one row per loaded input record (duplicates kept and flagged)
create table attacks (
    attack_id varchar primary key,
    source_file varchar not null,
    source_row bigint not null,
    model varchar,
    model_type varchar,
    model_size varchar,
    model_size_b double,
    rating double,
    success boolean,
    harmlessness double,
    task_description varchar,
    task_description_harmlessness double,
    attack_text varchar not null,
    transcript varchar,
    response varchar,
    n_turns integer,
    red_team_member_id varchar,
    is_upworker boolean,
    tags varchar[],
    attack_method varchar,
    campaign varchar,
    category varchar,  -- the source's own harm category label, verbatim
    created_at timestamp,
    is_duplicate boolean not null,
    embed_text varchar,
    cluster_id integer,
    cluster_label varchar,
    theme varchar,
    theme_confidence double,  -- 0-1, calibrated probability that theme is right
    theme_source varchar,  -- 'model' | 'source' (the input's own category) | 'analyst'
    needs_review boolean,  -- the model's confidence was below the taxonomy's review threshold
    cluster_strength double,  -- 0-1 HDBSCAN membership strength, 1 = core member, 0 for unclustered
    x double,
    y double
)
