"""The whole ETL through the real CLI: real files in, a real published DuckDB database out."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest
from typer.testing import CliRunner

from etl.cli import app
from tests.conftest import shared_file

runner = CliRunner()


def _etl(*args: str):
    return runner.invoke(app, ["--quiet", "etl", *args, "--no-progress"], catch_exceptions=False)


def _query(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_real_format_sample_loads_every_record(tmp_path):
    sample = shared_file("hh-rlhf/red_team_attempts.sample.json")
    db = tmp_path / "risk.duckdb"
    result = _etl(str(sample), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "loaded 5, rejected 0" in result.output
    rows = _query(db, "select model_type, model_size, cluster_id, theme, x is not null from attacks order by source_row")
    assert len(rows) == 5
    assert {r[2] for r in rows} == {0}  # too small to cluster: one cluster, never dropped
    assert all(r[3] is not None and r[4] for r in rows)
    (run,) = _query(db, "select n_read, n_loaded, n_rejected, status, is_demo, inputs from runs")
    assert run[:5] == (5, 5, 0, "published", False)
    assert len(json.loads(run[5])[0]["sha256"]) == 64


def test_mapped_csv_and_rerun_is_idempotent_with_history(tmp_path):
    csv = shared_file("simple-safety-tests/test_cases.csv")
    db = tmp_path / "sst.duckdb"
    args = (str(csv), "--db", str(db), "--map", "attack_text=prompts_final", "--map", "attack_method=harm_area")
    assert _etl(*args).exit_code == 0
    first = _query(db, "select attack_id from attacks order by attack_id")
    assert len(first) == 100
    assert _query(db, "select count(*) from attacks where rating is null and success is null")[0][0] == 100
    assert _etl(*args).exit_code == 0
    assert _query(db, "select attack_id from attacks order by attack_id") == first
    assert _query(db, "select count(*) from runs")[0][0] == 2
    # metrics that need a rating are null, not zero, when the input has none
    assert _query(db, "select count(*) from theme_metrics where success_rate is not null or mean_rating is not null")[0][0] == 0


def test_too_many_rejections_fail_and_keep_the_published_database(tmp_path):
    sample = shared_file("hh-rlhf/red_team_attempts.sample.json")
    db = tmp_path / "risk.duckdb"
    assert _etl(str(sample), "--db", str(db)).exit_code == 0
    before = db.read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"attack_text": "ok one"}\nnot json\n{"oops": 1}\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "etl.cli", "--quiet", "etl", str(bad), "--db", str(db), "--no-progress"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: 2 of 3 rows")
    assert db.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.json", "--db", "x.duckdb"], "input file not found"),
        (["{sample}", "--db", "x.duckdb", "--map", "attack_text"], "--map expects CANONICAL=SOURCE"),
        (["{sample}", "--db", "x.duckdb", "--taxonomy", "{broken}"], "line"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(tmp_path, args, message):
    sample = shared_file("hh-rlhf/red_team_attempts.sample.json")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[themes]]\nid = 'x'\nname = \n", encoding="utf-8")
    args = [a.format(sample=sample, broken=broken) for a in args]
    proc = subprocess.run(
        [sys.executable, "-m", "etl.cli", "--quiet", "etl", *args, "--no-progress"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last
