"""The demo's opt-in second campaign (``campaigns=2``): every RLHF attack replayed against a mitigated model with
known per-theme effects. The comparison recovers them: each generated improvement and regression is flagged, no
other theme is (the Bonferroni adjustment bounds that chance at 5 %), and the paired counts equal a recount."""

from __future__ import annotations

import polars as pl
import pytest

from etl import demo
from etl.errors import UserError
from etl.sources import load
from sql.database import Queries, open_read_only
from sql.filters import Filters
from tests import fixture_db as F
from tests.sql.test_compare import recount

ROWS = 15000  # ~2,600 RLHF attacks replayed: enough power for the smallest changed theme (cybercrime, ~100 pairs)
A, B = Filters(model_types=(demo.MITIGATED_FROM,)), Filters(model_types=(demo.MITIGATED_MODEL_TYPE,))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The two-campaign demo file read by the real Anthropic-format reader, themes from the ground truth."""
    folder = tmp_path_factory.mktemp("campaigns")
    summary = demo.write_demo(folder / "demo.json", rows=ROWS, seed=0, campaigns=2)
    truth = pl.read_parquet(summary["truth_path"])
    got = load([folder / "demo.json"], progress=False)
    attacks = got.attacks.join(truth.select("source_row", "theme"), on="source_row", how="left")
    attacks = F.attacks_frame([{**row, "cluster_id": -1, "cluster_label": "unclustered"}
                               for row in attacks.to_dicts()])
    path = F.build_db(folder / "risk.duckdb", attacks, F.themes_frame({t: (t, 3) for t in demo.THEME_IDS}, ()))
    con = open_read_only(path)
    yield summary, truth, attacks, Queries(con)
    con.close()


def test_first_campaign_is_the_one_campaign_demo():
    one, truth_one = demo.generate(500, 3)
    two, truth_two = demo.generate(500, 3, campaigns=2)
    assert two[:500] == one
    assert truth_two.head(500).select(truth_one.columns).equals(truth_one)
    replays = two[500:]
    assert replays and {r["model_type"] for r in replays} == {demo.MITIGATED_MODEL_TYPE}
    assert len(replays) == sum(r["model_type"] == demo.MITIGATED_FROM for r in one)
    assert set(truth_two.filter(pl.col("campaign") == 2)["effect"]) == {"improvement", "regression", "none"}
    with pytest.raises(UserError, match="1 or 2 campaigns"):
        demo.generate(10, 0, campaigns=3)


def test_generated_effects_are_recovered(built):
    summary, truth, _, q = built
    assert summary["rows"] == truth.height > ROWS
    result = q.compare(A, B)
    themes = result.grain("theme")
    flagged = {r["theme"]: r["change"] for r in themes.iter_rows(named=True)}
    generated = demo.mitigation_truth()
    for theme, effect in generated.items():
        if theme not in flagged:  # a theme with no RLHF attack at this size
            assert effect == "none"
            continue
        want = {"improvement": "improvement", "regression": "regression"}.get(effect, "no clear change")
        assert flagged[theme] == want, (theme, themes.filter(pl.col("theme") == theme).to_dicts())
    assert themes["n_compared"][0] >= 15  # the adjustment covers every theme compared
    # the regressions are the new weaknesses, the surer one first
    weak = result.new_weaknesses().filter(pl.col("grain") == "theme")
    assert set(weak["theme"]) == {t for t, e in generated.items() if e == "regression"}
    # every attack is replayed once: the pairs are the RLHF attacks (distinct texts), and McNemar agrees
    paired = result.paired_overall()
    assert paired["n_newly_succeeding"] > 0 and paired["n_newly_failing"] > 0


def test_paired_counts_equal_a_recount_from_the_file(built):
    _, _, attacks, q = built
    for pair_on in ("attack_text", "task_description"):
        result = q.compare(A, B, pair_on=pair_on)
        want = recount(attacks, pl.col("model_type") == demo.MITIGATED_FROM,
                       pl.col("model_type") == demo.MITIGATED_MODEL_TYPE, pair_on)
        got = result.paired_overall()
        assert {k: got[k] for k in want} == want
    by_theme = result.paired.filter(pl.col("grain") == "theme")
    regress = {t for t, e in demo.mitigation_truth().items() if e == "regression"}
    for row in by_theme.iter_rows(named=True):
        if row["theme"] in regress:
            assert row["n_newly_succeeding"] > row["n_newly_failing"]
            assert row["mcnemar_p_holm"] < 0.05


@pytest.mark.slow
def test_small_two_campaign_demo_through_the_real_etl(tmp_path):
    """`redteam-risk demo --campaigns 2` → `redteam-risk etl` → `redteam-risk compare`: the published build's
    paired counts equal a recount from its own attacks table (themes and clusters from the real pipeline)."""
    import json

    import duckdb
    from typer.testing import CliRunner

    from etl.cli import app

    runner = CliRunner()
    data, db = tmp_path / "demo.json", tmp_path / "risk.duckdb"
    assert runner.invoke(app, ["--quiet", "demo", "--out", str(data), "--rows", "100", "--campaigns", "2"]).exit_code == 0
    etl = runner.invoke(app, ["--quiet", "etl", str(data), "--db", str(db), "--no-progress"], catch_exceptions=False)
    assert etl.exit_code == 0, etl.output
    out = runner.invoke(app, ["--quiet", "compare", "--db", str(db), "--a", "model_type=rlhf",
                              "--b", "model_type=rlhf mitigated", "--format", "json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    con = duckdb.connect(str(db), read_only=True)
    try:
        attacks = con.sql("select model_type, attack_text, task_description, success, is_duplicate from attacks").pl()
    finally:
        con.close()
    want = recount(attacks, pl.col("model_type") == "rlhf", pl.col("model_type") == "rlhf mitigated")
    overall = next(p for p in got["paired"] if p["grain"] == "all")
    assert {k: overall[k] for k in want} == want
    # every replayed attack found its original
    n_rlhf_texts = attacks.filter(pl.col("model_type") == "rlhf")["attack_text"].str.strip_chars().n_unique()
    assert want["n_pairs"] == n_rlhf_texts > 0
    assert {g["grain"] for g in got["groups"]} >= {"all", "theme", "cluster"}
