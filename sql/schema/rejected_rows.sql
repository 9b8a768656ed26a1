-- grain: one row per input record (or whole input file) that was not loaded
create table rejected_rows (
    run_id varchar not null,
    source_file varchar not null,
    source_row bigint,  -- null when the whole file was rejected
    reason varchar not null,
    raw_excerpt varchar
)
