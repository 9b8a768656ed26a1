-- grain: one row per turn of an attack's transcript
create table turns (
    attack_id varchar not null,
    turn_index integer not null,
    speaker varchar not null,  -- 'human' | 'assistant'
    text varchar not null,
    primary key (attack_id, turn_index)
)
