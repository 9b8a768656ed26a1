"""Quality bars of the whole pipeline on the demo data, against its ground truth (issue: analytics).

One demo dataset is built once per session and analysed with two seeds; the checks then read the published
databases. Runs the real model, UMAP and HDBSCAN, so it is marked slow (it still runs in CI).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from etl.demo import write_demo
from etl.pipeline import EtlConfig, run

pytestmark = pytest.mark.slow

ROWS = 4000


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("quality")
    data = folder / "demo.json.gz"
    write_demo(data, rows=ROWS, seed=7)
    out = {"data": data, "truth": pl.read_parquet(Path(str(data) + ".truth.parquet"))}
    for seed in (0, 1):
        db = folder / f"seed{seed}.duckdb"
        run(EtlConfig(inputs=(data,), db=db, seed=seed, progress=False))
        con = duckdb.connect(str(db), read_only=True)
        out[seed] = con
    yield out
    for seed in (0, 1):
        out[seed].close()


def _attacks(con) -> pl.DataFrame:
    return con.sql("select source_row, cluster_id, theme, model_type, model_size, rating, success from attacks").pl()


def test_theme_accuracy_against_ground_truth(built):
    joined = _attacks(built[0]).join(built["truth"], on="source_row", suffix="_true")
    assert joined.height == ROWS
    accuracy = (joined["theme"] == joined["theme_true"]).mean()
    assert accuracy >= 0.90, f"theme accuracy {accuracy:.3f}"


def test_clusters_recover_subtopics_and_are_stable_across_seeds(built):
    a = _attacks(built[0]).sort("source_row").join(built["truth"], on="source_row")
    b = _attacks(built[1]).sort("source_row")
    nmi = normalized_mutual_info_score(a["subtopic"], a["cluster_id"])
    ari = adjusted_rand_score(a["cluster_id"], b["cluster_id"])
    assert nmi >= 0.6, f"NMI {nmi:.3f}"
    assert ari >= 0.8, f"ARI between seeds {ari:.3f}"


def test_success_rates_in_views_equal_a_recount_of_the_raw_input(built):
    con = built[0]
    view = con.sql(
        "select theme, model_type, model_size, n_attacks, n_success, success_rate from theme_model_metrics"
    ).pl()
    raw = (
        _attacks(con)
        .group_by("theme", "model_type", "model_size")
        .agg(pl.len().alias("n"), (pl.col("rating") >= 3).sum().alias("k"))
        .with_columns((pl.col("k") / pl.col("n")).alias("rate"))
    )
    joined = view.join(raw, on=["theme", "model_type", "model_size"], how="full", coalesce=True)
    assert joined.height == raw.height == view.height
    assert (joined["n_attacks"] == joined["n"]).all()
    assert (joined["n_success"] == joined["k"]).all()
    assert ((joined["success_rate"] - joined["rate"]).abs() < 1e-12).all()


def test_scaling_view_shows_rlhf_falling_and_others_flat(built):
    """RLHF's 52B success CI lies wholly below its 2.7B CI; for the other types the two CIs overlap
    (about 200 attacks per cell at this size, so "flat" is judged with the uncertainty, not a point gap)."""
    rows = built[0].sql(
        "select model_type, model_size_b, success_ci_low, success_ci_high from scaling_metrics"
    ).pl()
    ci = {(r["model_type"], r["model_size_b"]): (r["success_ci_low"], r["success_ci_high"]) for r in rows.iter_rows(named=True)}
    assert ci[("rlhf", 52.0)][1] < ci[("rlhf", 2.7)][0]
    for other in ("plain lm", "context distillation", "rejection sampling"):
        small, large = ci[(other, 2.7)], ci[(other, 52.0)]
        assert small[0] <= large[1] and large[0] <= small[1], other


def test_priorities_rank_misinformation_above_piracy(built):
    ranks = dict(built[0].execute("select theme, rank from priority_areas").fetchall())
    assert ranks["misinformation_conspiracy"] < ranks["digital_piracy_ip"]
    explanation = built[0].execute(
        "select explanation from priority_areas where theme = 'misinformation_conspiracy'"
    ).fetchone()[0]
    assert "%" in explanation
