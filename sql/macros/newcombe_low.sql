-- Lower bound of Newcombe's hybrid score interval (method 10) for the difference p_b - p_a of two independent
-- rates, from each rate's own interval [low_a, high_a] and [low_b, high_b] (Wilson, at the level wanted).
(p_a, low_a, high_a, p_b, low_b, high_b) as (p_b - p_a) - sqrt((p_b - low_b) ^ 2 + (high_a - p_a) ^ 2)
