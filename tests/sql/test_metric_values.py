"""The metric views give the numbers recomputed from the raw rows, and the interval formulas give
published values."""

from __future__ import annotations

import math

import duckdb
import polars as pl
import pytest

import sql
from sql.filters import Filters
from tests.fixture_db import build_db, make_attacks, themes_frame

DEFAULT_TAIL = -1.0
# view -> its key columns, for the views that are plain group-bys of attacks
GROUPINGS = {
    "theme_metrics": ["theme"],
    "cluster_metrics": ["cluster_id"],
    "theme_model_metrics": ["theme", "model_type", "model_size"],
    "scaling_metrics": ["model_type", "model_size"],
    "model_type_metrics": ["model_type"],
}


def expected(attacks: pl.DataFrame, keys: list[str], *, threshold: float | None = None,
             tail: float = DEFAULT_TAIL) -> pl.DataFrame:
    """The metric block recomputed in polars from raw rows (duplicates out, as documented)."""
    rows = attacks.filter(~pl.col("is_duplicate"))
    if threshold is not None:
        rows = rows.with_columns(
            pl.when(pl.col("rating").is_not_null())
            .then(pl.col("rating") >= threshold)
            .otherwise("success")
            .alias("success")
        )
    return rows.group_by(keys).agg(
        pl.len().alias("n_attacks"),
        (pl.len() / rows.height).alias("share_of_attacks"),
        pl.col("success").sum().alias("n_success"),
        pl.col("success").mean().alias("success_rate"),
        pl.col("rating").mean().alias("mean_rating"),
        pl.col("harmlessness").mean().alias("mean_harmlessness"),
        ((pl.col("harmlessness") < tail).sum() / pl.col("harmlessness").count()).alias("tail_share"),
    )


def assert_matches(view_rows: pl.DataFrame, want: pl.DataFrame, keys: list[str]) -> None:
    got = view_rows.select(want.columns)
    assert got.height == want.height
    joined = want.join(got, on=keys, how="full", suffix="_view", nulls_equal=True)
    assert joined.height == want.height
    for column in ("n_attacks", "n_success"):
        assert (joined[column] == joined[f"{column}_view"]).all(), column
    for column in ("share_of_attacks", "success_rate", "mean_rating", "mean_harmlessness", "tail_share"):
        for a, b in zip(joined[column], joined[f"{column}_view"], strict=True):
            assert a == pytest.approx(b, rel=1e-12, abs=1e-15), column


@pytest.mark.parametrize("view", GROUPINGS)
def test_view_matches_polars_recomputation(con, attacks_frame, view):
    keys = GROUPINGS[view]
    assert_matches(sql.query(con, view), expected(attacks_frame, keys), keys)


@pytest.mark.parametrize("view", GROUPINGS)
def test_filtered_view_matches_polars_recomputation(con, attacks_frame, view):
    keys = GROUPINGS[view]
    filters = Filters(model_sizes=("13B", "52B"), themes=("misinformation", "piracy"), success_threshold=2,
                      tail_threshold=-2.0)
    rows = attacks_frame.filter(
        pl.col("model_size").is_in(["13B", "52B"]) & pl.col("theme").is_in(["misinformation", "piracy"])
    )
    assert_matches(sql.query(con, view, filters=filters), expected(rows, keys, threshold=2, tail=-2.0), keys)


def test_duplicates_are_counted_once(con, attacks_frame):
    overall = sql.query(con, "overall_metrics").row(0, named=True)
    assert overall["n_attacks"] == attacks_frame.filter(~pl.col("is_duplicate")).height
    assert overall["n_attacks"] < attacks_frame.height
    assert overall["share_of_attacks"] == 1.0


# One database of small hand-made cells with published answers: theme -> cells (model_type, n, n_success)
KNOWN_CELLS = {
    "w0_10": [("plain lm", 10, 0)],
    "w10_10": [("plain lm", 10, 10)],
    "w81_263": [("plain lm", 263, 81)],
    "w15_148": [("plain lm", 148, 15)],
    "newcombe": [("plain lm", 70, 56), ("rlhf", 80, 48)],
    "one": [("plain lm", 1, 1)],
}
# theme -> exact ratings (success = rating >= 3), for the t intervals
KNOWN_RATINGS = {
    "t_df1": [0.0, 4.0],
    "t_df3": [1.0, 2.0, 3.0, 4.0],
    "t_df9": [0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0],
}


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    spec = [(t, model_type, "52B", n, k) for t, cells in KNOWN_CELLS.items() for model_type, n, k in cells]
    spec += [(t, "plain lm", "52B", len(r), 0) for t, r in KNOWN_RATINGS.items()]
    attacks = make_attacks(spec)
    ratings = pl.DataFrame(
        [(t, i, r) for t, rs in KNOWN_RATINGS.items() for i, r in enumerate(rs)],
        schema={"theme": pl.String, "i": pl.Int64, "exact": pl.Float64}, orient="row",
    )
    attacks = (
        attacks.with_columns(pl.int_range(pl.len()).over("theme").cast(pl.Int64).alias("i"))
        .join(ratings, on=["theme", "i"], how="left")
        .with_columns(pl.coalesce("exact", "rating").alias("rating"))
        .with_columns((pl.col("rating") >= 3).alias("success"))
        .drop("i", "exact")
    )
    themes = themes_frame({t: (t, 3, 0.0) for t in [*KNOWN_CELLS, *KNOWN_RATINGS]}, ())
    connection = duckdb.connect(str(build_db(tmp_path_factory.mktemp("known") / "known.duckdb", attacks, themes)),
                                read_only=True)
    yield connection
    connection.close()


def theme_row(con, view: str, theme: str) -> dict:
    return sql.query(con, view).filter(pl.col("theme") == theme).row(0, named=True)


@pytest.mark.parametrize(
    ("theme", "k", "n", "low", "high"),
    [
        ("w0_10", 0, 10, 0.0, 0.2775),  # Newcombe (1998), Table I
        ("w10_10", 10, 10, 0.7225, 1.0),
        ("w81_263", 81, 263, 0.2553, 0.3662),
        ("w15_148", 15, 148, 0.0624, 0.1605),
    ],
)
def test_wilson_interval_matches_published_values(known, theme, k, n, low, high):
    row = theme_row(known, "theme_metrics", theme)
    assert row["n_success"] == k and row["success_rate"] == k / n
    assert row["success_ci_low"] == pytest.approx(low, abs=5e-5)
    assert row["success_ci_high"] == pytest.approx(high, abs=5e-5)


def test_newcombe_difference_interval_matches_published_value(known):
    # Newcombe (1998) "Interval estimation for the difference between independent proportions",
    # example (a): 56/70 - 48/80 = 0.2000, hybrid score (method 10) 0.0524 to 0.3339
    row = theme_row(known, "intervention_effects", "newcombe")
    assert (row["model_type"], row["baseline_model_type"]) == ("rlhf", "plain lm")
    assert row["reduction"] == pytest.approx(0.2, abs=1e-12)
    assert row["reduction_ci_low"] == pytest.approx(0.0524, abs=5e-5)
    assert row["reduction_ci_high"] == pytest.approx(0.3339, abs=5e-5)
    assert row["relative_reduction"] == pytest.approx(0.2 / 0.8)
    assert row["is_reduction_significant"] is True
    by_size = theme_row(known, "intervention_effects_by_size", "newcombe")
    assert by_size["reduction_ci_low"] == pytest.approx(row["reduction_ci_low"])


@pytest.mark.parametrize(
    ("theme", "t975", "rel"),
    [
        ("t_df1", 12.706204736, 1e-9),  # exact
        ("t_df3", 3.182446305, 2e-3),  # Cornish-Fisher, documented error < 0.2 %
        ("t_df9", 2.262157163, 1e-4),
    ],
)
def test_mean_interval_uses_student_t(known, theme, t975, rel):
    ratings = KNOWN_RATINGS[theme]
    row = theme_row(known, "theme_metrics", theme)
    mean = sum(ratings) / len(ratings)
    sd = math.sqrt(sum((r - mean) ** 2 for r in ratings) / (len(ratings) - 1))
    half = row["mean_rating_ci_high"] - row["mean_rating"]
    assert row["mean_rating"] == pytest.approx(mean)
    assert half == pytest.approx(t975 * sd / math.sqrt(len(ratings)), rel=rel)
    assert row["mean_rating"] - row["mean_rating_ci_low"] == pytest.approx(half)


def test_single_attack_has_no_mean_interval(known):
    row = theme_row(known, "theme_metrics", "one")
    assert row["mean_rating"] is not None
    assert row["mean_rating_ci_low"] is None and row["harmlessness_ci_high"] is None


def test_absent_rating_and_harmlessness_give_null_not_zero(tmp_path):
    attacks = make_attacks([("t", "plain lm", "52B", 20, 5), ("t", "rlhf", "52B", 20, 1)]).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("rating"), pl.lit(None, dtype=pl.Float64).alias("harmlessness")
    )
    con = duckdb.connect(str(build_db(tmp_path / "generic.duckdb", attacks, themes_frame({"t": ("T", 3, 0)}))))
    for filters in (None, Filters(success_threshold=1)):  # the threshold cannot apply without ratings
        row = sql.query(con, "theme_metrics", filters=filters).row(0, named=True)
        assert row["n_attacks"] == 40 and row["n_success"] == 6 and row["success_rate"] == 6 / 40
        for column in ("mean_rating", "mean_rating_ci_low", "mean_rating_ci_high", "mean_harmlessness",
                       "harmlessness_ci_low", "harmlessness_ci_high", "tail_share"):
            assert row[column] is None, column


def test_absent_success_gives_null_not_zero(tmp_path):
    attacks = make_attacks([("t", "plain lm", "52B", 20, 5)]).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("rating"), pl.lit(None, dtype=pl.Boolean).alias("success")
    )
    con = duckdb.connect(str(build_db(tmp_path / "nosuccess.duckdb", attacks, themes_frame({"t": ("T", 3, 0)}))))
    row = sql.query(con, "theme_metrics").row(0, named=True)
    assert row["n_attacks"] == 20
    for column in ("n_success", "success_rate", "success_ci_low", "success_ci_high"):
        assert row[column] is None, column
    assert row["mean_harmlessness"] is not None
    priority = con.sql("select * from priority_areas").pl().row(0, named=True)
    assert "success unknown" in priority["explanation"]


def test_intervention_effects_compare_with_plain_lm_of_the_same_theme(con):
    effects = sql.query(con, "intervention_effects")
    theme_model = sql.query(con, "theme_model_metrics")
    assert "plain lm" not in effects["model_type"].to_list()
    row = effects.filter((pl.col("theme") == "misinformation") & (pl.col("model_type") == "rlhf")).row(0, named=True)
    cells = theme_model.filter(pl.col("theme") == "misinformation")
    plain = cells.filter(pl.col("model_type") == "plain lm")
    rlhf = cells.filter(pl.col("model_type") == "rlhf")
    baseline = plain["n_success"].sum() / plain["n_attacks"].sum()
    rate = rlhf["n_success"].sum() / rlhf["n_attacks"].sum()
    assert row["baseline_success_rate"] == pytest.approx(baseline)
    assert row["success_rate"] == pytest.approx(rate)
    assert row["reduction"] == pytest.approx(baseline - rate)
    assert row["reduction"] > 0


def test_scaling_shows_rlhf_harder_with_size(con):
    rlhf = sql.query(con, "scaling_metrics").filter(pl.col("model_type") == "rlhf").sort("model_size_b")
    assert rlhf["success_rate"].to_list() == sorted(rlhf["success_rate"].to_list(), reverse=True)
    strongest = sql.query(con, "strongest_model_cell").row(0, named=True)
    assert strongest["cell_label"] == "rlhf 52B"
