"""`redteam-risk compare`: the table in md / csv / json, the regression gate's exit status, bad scopes, and
`redteam-risk report --compare-a/--compare-b` carrying the same numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from etl.cli import app
from sql.compare import ScopeError, parse_scope
from sql.database import Queries, open_read_only
from tests import fixture_db as F

runner = CliRunner()
PLAIN, RLHF = "model_type=plain lm", "model_type=rlhf"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return F.write_fixture_db(tmp_path_factory.mktemp("cli") / "grid.duckdb")


def run(*args):
    return runner.invoke(app, ["--quiet", "compare", *args])


def test_gate_fails_on_a_regression_and_passes_otherwise(db):
    worse = run("--db", str(db), "--a", RLHF, "--b", PLAIN, "--fail-on-regression")
    assert worse.exit_code == 1, worse.output
    assert "regression: success rose beyond the adjusted interval in All attacks" in worse.output
    better = run("--db", str(db), "--a", PLAIN, "--b", RLHF, "--fail-on-regression")
    assert better.exit_code == 0, better.output
    assert "Improvement" in better.output
    # without the flag a regression is reported but does not fail
    assert run("--db", str(db), "--a", RLHF, "--b", PLAIN).exit_code == 0


def test_json_and_csv_carry_the_query_layer_numbers(db, tmp_path):
    con = open_read_only(db)
    try:
        want = Queries(con).compare(parse_scope(PLAIN), parse_scope(RLHF))
    finally:
        con.close()
    out = run("--db", str(db), "--a", PLAIN, "--b", RLHF, "--format", "json")
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    assert got["scope_a"] == PLAIN and got["pair_on"] == "attack_text"
    assert [(g["grain"], g["theme"], g["difference"]) for g in got["groups"]] == [
        (r["grain"], r["theme"], r["difference"]) for r in want.groups.iter_rows(named=True)]
    path = tmp_path / "cmp.csv"
    assert run("--db", str(db), "--a", PLAIN, "--b", RLHF, "--format", "csv", "--out", str(path)).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    themes = {r["theme"]: r for r in rows if r["grain"] == "theme"}
    for r in want.grain("theme").iter_rows(named=True):
        assert float(themes[r["theme"]]["difference_ci_low_adjusted"]) == pytest.approx(r["difference_ci_low_adjusted"])
        assert themes[r["theme"]]["change"] == r["change"]


def test_bad_scopes_and_formats_are_user_errors(db):
    bad = run("--db", str(db), "--a", "modle=x", "--b", RLHF)
    assert isinstance(bad.exception, ScopeError) and "unknown scope key 'modle'" in str(bad.exception)
    fmt = run("--db", str(db), "--a", PLAIN, "--b", RLHF, "--format", "xml")
    assert "unknown compare format" in str(fmt.exception)
    with pytest.raises(ScopeError, match="not key=value"):
        parse_scope("rlhf")


def test_report_compare_section_in_markdown_and_csv(db, tmp_path):
    md = tmp_path / "r.md"
    res = runner.invoke(app, ["--quiet", "report", "--db", str(db), "--out", str(md), "--format", "md",
                              "--compare-a", PLAIN, "--compare-b", RLHF])
    assert res.exit_code == 0, res.output
    text = md.read_text(encoding="utf-8")
    assert "## Comparison: success by theme" in text and "## Paired comparison" in text
    assert "| All attacks | 34 / 122 | 27.9 % \\[20.7–36.4\\] | 8 / 120 |" in text  # the CLI's own numbers
    cli = run("--db", str(db), "--a", PLAIN, "--b", RLHF)
    assert "| All attacks | 34 / 122 | 27.9 % \\[20.7–36.4\\] | 8 / 120 |" in cli.stdout
    one = runner.invoke(app, ["--quiet", "report", "--db", str(db), "--out", str(md), "--format", "md",
                              "--compare-a", PLAIN])
    assert "give both --compare-a and --compare-b" in str(one.exception)
