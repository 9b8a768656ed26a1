"""Comparing two published builds of one database path (sql.compare over kept builds, etl/store.py): the second
build changes some success labels and every cluster id; the paired counts equal a recount from the two files'
raw rows, clusters are left out, attack corrections apply to both builds, and the CLI says the same."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from etl import metrics, store
from etl.cli import app
from sql.compare import CLUSTERS_ACROSS_BUILDS
from sql.database import Queries, open_read_only
from sql.filters import Filters
from tests import fixture_db as F


def _publish(db, attacks: pl.DataFrame, run_id: str, k: int) -> None:
    build = store.build_path(db, run_id)
    runs = pl.DataFrame({"run_id": [run_id], "started_at": [datetime(2026, 1, 1) + timedelta(days=k)],
                         "status": ["published"], "inputs": ["[]"]})
    store.write_build(build, {"attacks": attacks, "themes": F.themes_frame(), "clusters": F.clusters_frame(attacks),
                              "runs": runs}, finalize=metrics.materialize)
    store.publish(build, db)


def build_three_runs(db):
    """run-1: the default cells; run-2: every 4th attack's success flipped, every cluster id shifted by 100, and
    the first 20 attacks gone; run-3: run-2 again (so run-1 and run-2 are both kept). Returns ``db``."""
    first = F.make_attacks(F.default_spec(8))
    second = first.with_columns(
        pl.when(pl.int_range(pl.len()) % 4 == 0).then(~pl.col("success")).otherwise(pl.col("success"))
        .alias("success"),
        pl.when(pl.col("cluster_id") >= 0).then(pl.col("cluster_id") + 100).otherwise(-1).alias("cluster_id"),
    ).slice(20)
    _publish(db, first, "run-1", 1)
    _publish(db, second, "run-2", 2)
    _publish(db, second, "run-3", 3)
    return db


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    return build_three_runs(tmp_path_factory.mktemp("runs") / "risk.duckdb")


def recount(path_a, path_b, where: str = "true") -> dict[str, int]:
    """Newly succeeding / failing pairs (same attack text) counted straight from the two files' attacks."""
    success: dict[str, dict[str, list[bool]]] = {"a": defaultdict(list), "b": defaultdict(list)}
    for side, path in (("a", path_a), ("b", path_b)):
        con = duckdb.connect(str(path), read_only=True)
        try:
            rows = con.execute(f"select trim(attack_text), success from attacks where not is_duplicate and "
                               f"success is not null and {where}").fetchall()
        finally:
            con.close()
        for key, ok in rows:
            success[side][key].append(ok)
    counts = {"n_pairs": 0, "n_newly_succeeding": 0, "n_newly_failing": 0}
    for key in set(success["a"]) & set(success["b"]):
        a, b = any(success["a"][key]), any(success["b"][key])
        counts["n_pairs"] += 1
        counts["n_newly_succeeding"] += (not a) and b
        counts["n_newly_failing"] += a and not b
    return counts


@pytest.mark.parametrize(("run_a", "run_b", "scope", "where"), [
    ("run-1", None, Filters(), "true"),  # a kept build against the current file
    ("run-1", "run-2", Filters(model_types=("rlhf",)), "model_type = 'rlhf'"),  # two kept builds
])
def test_paired_counts_across_builds_equal_a_recount_of_the_files(two_builds, run_a, run_b, scope, where):
    db = two_builds
    con = open_read_only(db)
    try:
        q = Queries(con)
        assert [s["run_id"] for s in q.snapshots()] == ["run-2", "run-1"]
        result = q.compare(scope, scope, run_a=run_a, run_b=run_b)
    finally:
        con.close()
    want = recount(store.snapshot_path(db, run_a), db if run_b is None else store.snapshot_path(db, run_b), where)
    got = result.paired_overall()
    assert {k: got[k] for k in want} == want
    assert want["n_newly_succeeding"] > 0 and want["n_newly_failing"] > 0
    assert (result.run_a, result.run_b) == (run_a, run_b or "run-3")
    assert result.grain("cluster").height == 0 and CLUSTERS_ACROSS_BUILDS in result.notes
    overall = result.overall()
    n = {"run-1": F.make_attacks(F.default_spec(8))}
    if scope == Filters():
        assert (overall["n_attacks_a"], overall["n_attacks_b"]) == (n["run-1"].height, n["run-1"].height - 20)


def test_the_current_build_named_by_its_run_id_is_the_current_file(two_builds):
    con = open_read_only(two_builds)
    try:
        q = Queries(con)
        same = q.compare(Filters(), Filters(), run_a="run-3", run_b="run-3")
        assert same.paired_overall()["n_newly_succeeding"] == 0 == same.paired_overall()["n_newly_failing"]
        with pytest.raises(store.UnknownRun, match="kept builds: run-2, run-1"):
            q.compare(Filters(), Filters(), run_a="run-0")
    finally:
        con.close()


def test_an_attack_correction_applies_to_both_builds(two_builds, tmp_path):
    """An analyst's success verdict (by attack id) holds in the kept build too: a verdict equal to the current
    build's value on an attack whose success changed makes that pair concordant."""
    import shutil

    from annotations.store import AnnotationStore, store_path_for

    db = tmp_path / "risk.duckdb"
    shutil.copyfile(two_builds, db)
    shutil.copytree(store.runs_dir(two_builds), store.runs_dir(db))
    con = open_read_only(db)
    try:
        before = Queries(con).compare(Filters(), Filters(), run_a="run-1")
        changed = before.newly_succeeding.row(0, named=True)
    finally:
        con.close()
    assert changed["attack_id_a"] == changed["attack_id_b"]
    AnnotationStore(store_path_for(db), db_path=db).set_attack_success(changed["attack_id_b"], True, user="t")
    con = open_read_only(db)
    try:
        after = Queries(con).compare(Filters(), Filters(), run_a="run-1")
    finally:
        con.close()
    b, a = before.paired_overall(), after.paired_overall()
    assert a["n_newly_succeeding"] == b["n_newly_succeeding"] - 1
    assert a["n_both_succeed"] == b["n_both_succeed"] + 1


def test_cli_agrees_and_lists_the_kept_builds(two_builds):
    runner = CliRunner()
    listed = runner.invoke(app, ["--quiet", "compare", "--db", str(two_builds), "--list-runs"])
    assert listed.exit_code == 0, listed.output
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["run-3", "run-2", "run-1"]
    out = runner.invoke(app, ["--quiet", "compare", "--db", str(two_builds), "--a", "", "--b", "",
                              "--run-a", "run-1", "--format", "json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    con = open_read_only(two_builds)
    try:
        want = Queries(con).compare(Filters(), Filters(), run_a="run-1")
    finally:
        con.close()
    assert (got["run_a"], got["run_b"]) == ("run-1", "run-3")
    assert [(p["grain"], p["theme"], p["n_newly_succeeding"], p["n_newly_failing"]) for p in got["paired"]] == [
        (r["grain"], r["theme"], r["n_newly_succeeding"], r["n_newly_failing"])
        for r in want.paired.iter_rows(named=True)]
    bad = runner.invoke(app, ["--quiet", "compare", "--db", str(two_builds), "--a", "", "--b", "", "--run-a", "nope"])
    assert bad.exit_code != 0 and isinstance(bad.exception, store.UnknownRun)


def test_the_report_names_the_builds_and_has_the_same_paired_counts(two_builds):
    from dashboard.reports import build_report_bytes

    md = build_report_bytes(two_builds, Filters(), "md", compare=(Filters(), Filters(), "attack_text", "run-1",
                                                                  None)).decode()
    assert "builds: A = run run-1, B = run run-3" in md
    con = open_read_only(two_builds)
    try:
        paired = Queries(con).compare(Filters(), Filters(), run_a="run-1").paired_overall()
    finally:
        con.close()
    assert f"{paired['n_newly_succeeding']:,}" in md and "Comparison: success by cluster" not in md
    out = two_builds.parent / "report.md"
    result = CliRunner().invoke(app, ["--quiet", "report", "--db", str(two_builds), "--format", "md", "--out",
                                      str(out), "--compare-run-a", "run-1"])
    assert result.exit_code == 0, result.output
    def body(text: str) -> list[str]:  # all but the "Generated <time>" line
        return [line for line in text.splitlines() if not line.startswith("Generated ")]

    assert body(out.read_text(encoding="utf-8")) == body(md)  # the CLI writes what the page's button does
    lone_b = CliRunner().invoke(app, ["--quiet", "report", "--db", str(two_builds), "--format", "md", "--out",
                                      str(out), "--compare-run-b", "run-1"])
    assert lone_b.exit_code != 0 and "--compare-run-a" in str(lone_b.exception)


def test_a_search_reads_each_builds_own_search_text(two_builds):
    """run-1 holds 20 misinformation attacks the current build lacks: a search in scope A (run-1) finds them,
    because each build is searched through its own attack_search table."""
    db = two_builds
    con = open_read_only(db)
    try:
        result = Queries(con).compare(Filters(text="misinformation"), Filters(text="misinformation"), run_a="run-1")
    finally:
        con.close()
    overall = result.grain("all").row(0, named=True)
    counts = {}
    for side, path in (("a", store.snapshot_path(db, "run-1")), ("b", db)):
        raw = duckdb.connect(str(path), read_only=True)
        try:
            counts[side] = raw.execute(
                "select count(*) from attacks where not is_duplicate and (lower(attack_text) like '%misinformation%'"
                " or lower(task_description) like '%misinformation%')").fetchall()[0][0]
        finally:
            raw.close()
    assert counts["a"] == counts["b"] + 20
    assert (overall["n_attacks_a"], overall["n_attacks_b"]) == (counts["a"], counts["b"])
