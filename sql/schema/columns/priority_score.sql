-- the columns the priority_areas and cluster_priority_areas tables share, after their keys (@include'd)
    score double not null,  -- 0-1, sum(weight * component) / sum(weights)
    success_score double not null,  -- 0-1 components, see sql/queries/priority_areas.sql
    volume_score double not null,
    severity_score double not null,
    resistance_score double not null,
    w_success double not null,  -- the weights the score was computed with
    w_volume double not null,
    w_severity double not null,
    w_resistance double not null,
    severity integer,  -- 1-5 from the taxonomy
    n_attacks bigint not null,
    share_of_attacks double,
    n_success bigint,
    success_rate double,
    success_ci_low double,  -- Wilson 95 %
    success_ci_high double,
    mean_rating double,
    mean_harmlessness double,
    tail_share double,
    n_needs_review bigint,  -- attacks whose theme needs review (model confidence below the review threshold)
    needs_review_share double,  -- 0-1, n_needs_review / n_attacks
    resistance_cell varchar,  -- the strongest model cell, e.g. "rlhf 52B"
    resistance_model_type varchar,
    resistance_model_size varchar,
    resistance_n_attacks bigint,  -- this area's attacks on that cell
    resistance_n_success bigint,
    resistance_success_rate double,
    resistance_ci_low double,
    resistance_ci_high double,
    explanation varchar not null  -- one sentence built from the numbers above
