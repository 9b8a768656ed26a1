-- Lower bound of the Wilson score interval of a rate p over n trials at normal quantile z; exactly 0 at p = 0
-- (the formula leaves rounding residue of ~1e-17 there); null when p is null (no data).
(p, n, z) as case
    when p = 0 then 0.0
    when p > 0 then greatest(
        (p + z ^ 2 / (2 * n)) / (1 + z ^ 2 / n) - z / (1 + z ^ 2 / n) * sqrt(p * (1 - p) / n + z ^ 2 / (4 * n ^ 2)),
        0.0)
end
