-- Upper bound of the Wilson score interval of a rate p over n trials at normal quantile z; exactly 1 at p = 1;
-- null when p is null (no data).
(p, n, z) as case
    when p = 1 then 1.0
    when p < 1 then least(
        (p + z ^ 2 / (2 * n)) / (1 + z ^ 2 / n) + z / (1 + z ^ 2 / n) * sqrt(p * (1 - p) / n + z ^ 2 / (4 * n ^ 2)),
        1.0)
end
