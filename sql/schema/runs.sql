-- grain: one row per build; each published database carries the history of the builds before it
create table runs (
    run_id varchar primary key,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,  -- 'published' | 'failed'
    inputs json not null,  -- [{path, sha256, n_read, n_loaded, n_rejected}]
    n_read bigint,
    n_loaded bigint,
    n_rejected bigint,
    n_duplicates bigint,
    parameters json,
    code_version varchar,
    stage_seconds json,  -- {stage: seconds}
    is_demo boolean not null default false
)
