"""dashboard.data (the only DuckDB module) and dashboard.safety, without a browser."""

from __future__ import annotations

import io
import os
import threading

import polars as pl
import pytest

from dashboard import data
from dashboard.safety import markdown_link, mask_pii, neutralise_formula, safe_url, to_csv_bytes
from sql.filters import Filters
from tests.fixture_db import FORMULA_ID, XSS_ID, write_fixture_db

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture()
def db_env(fixture_db, monkeypatch):
    monkeypatch.setenv(data.DB_ENV, str(fixture_db))
    return fixture_db


def test_a_newly_published_database_is_used_without_a_restart(tmp_path, monkeypatch):
    path = write_fixture_db(tmp_path / "risk.duckdb", n_per_cell=5)
    monkeypatch.setenv(data.DB_ENV, str(path))
    assert data.overall(Filters())["n_attacks"] == 4 * 12 * 5 + 2
    # the ETL writes a new build beside the database and renames it over the published path
    build = write_fixture_db(tmp_path / ".risk.duckdb.building-1-x", n_per_cell=7)
    os.replace(build, path)
    assert data.overall(Filters())["n_attacks"] == 4 * 12 * 7 + 2


def test_sessions_on_many_threads_get_correct_answers(db_env):
    filters = [Filters(model_sizes=(s,)) for s in ("2.7B", "13B", "52B")] * 4
    results: dict[int, int] = {}
    errors: list[BaseException] = []

    def work(i: int, f: Filters) -> None:
        try:
            results[i] = data.count_attacks(f)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, f)) for i, f in enumerate(filters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [results[i] for i in range(len(filters))] == [161, 160, 161] * 4


@pytest.mark.parametrize("value", ["", "/nonexistent/risk.duckdb"])
def test_no_database_raises_a_readable_error(monkeypatch, value):
    monkeypatch.setenv(data.DB_ENV, value)
    with pytest.raises(data.DatabaseUnavailable, match="redteam-risk etl"):
        data.check()


def test_filter_values_are_bound_never_formatted_into_sql(db_env):
    hostile = Filters(text="'; drop table attacks; --", themes=("x' or '1'='1",), models=("%",))
    assert data.count_attacks(hostile) == 0
    assert data.count_attacks(Filters()) == 482  # the table is still there


def test_attacks_page_pages_with_limit_and_offset(db_env):
    first = data.attacks_page(Filters(), 100, 0)
    second = data.attacks_page(Filters(), 100, 100)
    assert first.height == second.height == 100
    assert not set(first["attack_id"]) & set(second["attack_id"])
    only = data.attacks_page(Filters(), 10, 0, ids=(XSS_ID, FORMULA_ID))
    assert set(only["attack_id"]) == {XSS_ID, FORMULA_ID}


def test_filter_options_come_from_the_database(db_env):
    options = data.filter_options()
    assert options.model_sizes == ("2.7B", "13B", "52B")
    assert options.model_types == ("plain lm", "context distillation", "rejection sampling", "rlhf")
    assert options.themes["violence_incitement"] == "Violence & incitement"
    assert set(options.clusters) == set(range(-1, 8))
    assert options.has_pools and options.has_rating


def test_csv_export_neutralises_formulas(db_env):
    frame = pl.read_csv(io.BytesIO(data.export_csv(Filters())), infer_schema=False)
    assert frame.height == 482
    row = frame.filter(pl.col("attack_id") == FORMULA_ID).row(0, named=True)
    assert row["task_description"] == "'" + '=HYPERLINK("http://example.invalid/","click")'
    assert row["attack_text"].startswith("'+cmd")
    text_columns = ("attack_id", "model", "model_type", "model_size", "theme", "cluster_label", "task_description",
                    "attack_text", "red_team_member_id", "tags", "source_file")
    for col in text_columns:
        assert not any(str(v).lstrip("\ufeff").startswith(FORMULA_START) for v in frame[col].drop_nulls()), col


def test_transcript_turns_in_order(db_env):
    turns = data.turns(XSS_ID)
    assert turns["speaker"].to_list() == ["human", "assistant"]
    assert "<img src=x onerror=alert(1)>" in turns["text"][0]


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), ("", ""), (None, None), ("a=b", "a=b"),
])
def test_neutralise_formula(value, expected):
    assert neutralise_formula(value) == expected


def test_csv_bytes_neutralise_every_string_column_and_lists():
    frame = pl.DataFrame({"a": ["=x", "ok"], "tags": [["@a", "b"], None], "n": [-1, 2]})
    back = pl.read_csv(io.BytesIO(to_csv_bytes(frame)), infer_schema=False)
    assert back["a"].to_list() == ["'=x", "ok"]
    assert back["tags"].to_list() == ["'@a; b", None]


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>",
                                 "vbscript:x", "/relative/path", "//example.org/x", "http:///no-host", "ftp://x.org/f",
                                 "https://x.org/\nline", "", None])
def test_safe_url_refuses_anything_but_absolute_http_links(url):
    assert safe_url(url) is None
    assert "](" not in markdown_link(url, "ticket")


def test_safe_url_encodes_what_could_end_a_link_or_an_attribute():
    url = 'https://tickets.example.org/RISK-1?q=a b&x=(1)"><script>*$'
    safe = safe_url(url)
    assert safe.startswith("https://tickets.example.org/RISK-1?q=a%20b&x=%281%29%22%3E%3Cscript%3E%2A%24")
    assert not set(safe) & set(" ()[]<>\"'*$`")
    assert markdown_link(url, "[RISK-1](javascript:x)") == f"[\\[RISK\\-1\\]\\(javascript\\:x\\)]({safe})"


def test_mask_pii_hides_emails_and_phone_numbers_but_not_other_numbers():
    text = "Mail jane.doe@example.com or call +1 (555) 010-9999; the 52B model scored 3 in 2022"
    masked = mask_pii(text)
    assert "[email]" in masked and "[phone]" in masked
    assert "jane" not in masked and "555" not in masked
    assert "52B" in masked and "2022" in masked


def test_queries_on_a_plain_connection_match_the_dashboard(db_env):
    import duckdb

    con = duckdb.connect(str(db_env), read_only=True)
    try:
        direct = data.Queries(con)
        filters = Filters(model_types=("rlhf",))
        assert direct.overall(filters) == data.overall(filters)
        assert direct.map_points(filters).equals(data.map_points(filters))
    finally:
        con.close()


def test_build_history_says_how_each_build_was_made():
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("create table runs (run_id varchar, started_at timestamp, status varchar, parameters json)")
    rows = [
        ("a", "2026-01-01", '{"placement": {"mode": "full", "base_run": "a"}}'),
        ("b", "2026-01-02", '{"placement": {"mode": "incremental", "base_run": "a", "placed": 1000}}'),
        ("c", "2026-01-03", '{"placement": {"mode": "incremental", "base_run": "a", "placed": 1000}, '
                            '"reused_from": "b"}'),
        ("d", "2026-01-04", '{"seed": 0}'),  # an older build that did not record it
    ]
    for run_id, started, parameters in rows:
        con.execute("insert into runs values (?, ?, 'published', ?)", [run_id, started, parameters])
    modes = dict(data.Queries(con).runs().select("run_id", "build_mode").iter_rows())
    assert modes == {"a": "full fit", "b": "incremental: 1000 new attacks placed on the fit of a",
                     "c": "unchanged: copy of b", "d": None}


def test_the_dashboard_runs_no_python_function_inside_polars():
    # A Python function in a polars expression (map_elements, map_batches) runs on polars' thread pool and needs
    # the GIL there; st.dataframe's to_pandas in another session holds the GIL while it waits for that pool, and
    # the whole server deadlocked under 10 concurrent sessions (bench.load). Apply Python functions to lists.
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "dashboard"
    calls = [f"{path.relative_to(root)}:{node.lineno}" for path in root.rglob("*.py")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Attribute) and node.attr in {"map_elements", "map_batches", "map_rows"}]
    assert calls == []


def test_a_figure_is_built_once_per_content_and_rebuilt_when_the_content_changes(fresh_resources):
    built = []

    def chart(frame: pl.DataFrame, title: str | None = None):
        built.append((frame.height, title))
        return {"n": frame.height, "title": title}

    a = pl.DataFrame({"theme": ["x", "y"], "rate": [0.1, 0.2]})
    first = data.figure(chart, a, title="t")
    assert data.figure(chart, a.clone(), title="t") is first  # same rows: the shared figure
    data.figure(chart, a.reverse(), title="t")  # same rows in another order draw another chart
    data.figure(chart, a.with_columns(pl.col("rate") * 2), title="t")
    data.figure(chart, a, title="other")
    assert built == [(2, "t")] * 3 + [(2, "other")]


def test_cache_keys_tell_apart_values_whose_text_looks_alike():
    assert data.cache_key("attack", (1,)) != data.cache_key("attack", ("1",))
    assert data.cache_key(None, 0.5) != data.cache_key("None", "0.5")
    assert data.cache_key("overall", (Filters(),)) == data.cache_key("overall", (Filters(),))
    assert data.cache_key("overall", (Filters(),)) != data.cache_key("overall", (Filters(themes=("a",)),))
