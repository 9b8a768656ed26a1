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


def test_tool_directory_with_source_categories(tmp_path):
    """A JailbreakBench tree loads in one command; single-theme categories set the theme, unmapped ones are listed."""
    from tests.etl.test_sources_tools import _jbb_tree

    _jbb_tree(tmp_path / "in")
    user_map = tmp_path / "map.toml"
    user_map.write_text('[categories]\n"Harassment/Discrimination" = ["bullying_harassment"]\n', encoding="utf-8")
    db = tmp_path / "jbb.duckdb"
    result = _etl(str(tmp_path / "in"), "--db", str(db), "--category-map", str(user_map))
    assert result.exit_code == 0, result.output
    assert "read 6, loaded 5, rejected 1" in result.output
    assert "1 source category mapped to no theme" in result.output and "Government decision-making" in result.output
    rows = _query(db, "select category, theme, theme_source, theme_confidence, needs_review from attacks "
                      "order by category, source_file")
    by_category = {}
    for category, theme, source, confidence, review in rows:
        by_category.setdefault(category, set()).add((theme, source, confidence if source == "source" else None,
                                                     review if source == "source" else None))
    assert by_category["Harassment/Discrimination"] == {("bullying_harassment", "source", 1.0, False)}
    assert by_category["Malware/Hacking"] == {("cybercrime_hacking", "source", 1.0, False)}
    assert {s for _, s, _, _ in by_category["Government decision-making"]} == {"model"}
    (inputs, parameters) = _query(db, "select inputs, parameters from runs")[0]
    assert json.loads(parameters)["unmapped_categories"] == {"Government decision-making": 1}
    recorded = {i["path"].rsplit("/", 1)[-1]: (i["format"], i["n_read"]) for i in json.loads(inputs)}
    assert recorded == {"llama-2-7b-chat-hf.json": ("jailbreakbench", 3), "vicuna-13b-v1.5.json": ("jailbreakbench", 3),
                        "evaluation.json": ("jailbreakbench", 0), "submission.json": ("jailbreakbench", 0)}
