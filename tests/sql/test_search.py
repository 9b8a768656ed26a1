"""The text filter's search syntax (sql/search.py): parsing, and what SQL keeps against a Python recount."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

import sql
from sql.filters import Filters
from sql.search import MAX_TERMS, Search, parse_search
from tests.fixture_db import FORMULA_ID, XSS_ID, make_tables, write_db

SEARCHED = ("task_description", "attack_text", "response", "transcript")


@pytest.mark.parametrize(("text", "include", "exclude"), [
    ("moon landing", ("moon", "landing"), ()),
    ("  Moon   LANDING ", ("moon", "landing"), ()),
    ('"moon landing"', ("moon landing",), ()),
    ('"  Moon \n\t landing  "', ("moon landing",), ()),  # whitespace inside a phrase folds to one space
    ("moon -vaccine", ("moon",), ("vaccine",)),
    ('moon -"fake news" -x', ("moon",), ("fake news", "x")),
    ('"moon land', ("moon land",), ()),  # an unclosed quote runs to the end
    ('-"fake news', (), ("fake news",)),
    ("e-mail pre-", ("e-mail", "pre-"), ()),  # only a leading hyphen excludes
    ("--x", (), ("-x",)),  # one leading hyphen is removed, the rest is the term
    ('say"hi"there', ('say"hi"there',), ()),  # quotes inside a word are literal
    ('"a""b"', ("a", "b"), ()),
    ("moon MOON -Moon -moon", ("moon",), ("moon",)),  # repeats count once; both lists as asked
    ("100% _x_ *", ("100%", "_x_", "*"), ()),  # no wildcards
    ("'; drop table attacks; --", ("';", "drop", "table", "attacks;"), ("-",)),
])
def test_parse(text, include, exclude):
    assert parse_search(text) == Search(include, exclude)


@pytest.mark.parametrize("text", [None, "", "   ", "-", "- -", '""', '-""', '"', '-"', '" "', "\t\n"])
def test_text_without_a_term_is_no_search(text):
    assert parse_search(text).is_empty
    assert parse_search(text).params() == {"text_all": None, "text_none": None}
    assert Filters(text=text).text is None and not Filters(text=text).is_active


def test_terms_beyond_the_limit_are_dropped_and_counted():
    words = [f"w{i}" for i in range(MAX_TERMS + 5)]
    parsed = parse_search(" ".join(words[:-1]) + f" -{words[-1]}")
    assert parsed.include == tuple(words[:MAX_TERMS]) and parsed.exclude == ()
    assert parsed.dropped == 5


def test_filters_bind_the_parsed_lists_and_keep_the_typed_text():
    f = Filters(text='  Moon -"Fake  news" ')
    assert f.text == 'Moon -"Fake  news"'  # the user's text is what the URL carries
    assert f.params()["text_all"] == ["moon"] and f.params()["text_none"] == ["fake news"]
    assert Filters(text='a "bb cc" ddd ee').params()["text_all"] == ["bb cc", "ddd", "ee", "a"]  # longest first
    assert "text" not in f.params()
    assert Filters.from_query(f.to_query()) == f
    assert "Search “Moon -\"Fake  news\"”" in f.describe()


# --- SQL against a Python recount -------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["dashboard", "tool_like"])
def searched(request, tmp_path_factory) -> tuple[duckdb.DuckDBPyConnection, pl.DataFrame]:
    """A fixture database (transcripts: the dashboard's shape; responses: the tool-like one) and its attacks."""
    tables = make_tables(tool_like=request.param == "tool_like", is_demo=False)
    path = write_db(Path(tmp_path_factory.mktemp("search")) / "search.duckdb", tables)
    con = duckdb.connect(str(path), read_only=True)
    yield con, tables["attacks"]
    con.close()


def recount(attacks: pl.DataFrame, text: str) -> list[str]:
    """Attack ids whose searched fields (lowercased, whitespace folded) hold every include term and no exclude
    term of ``text``, computed in Python."""
    parsed = parse_search(text)
    out = []
    for row in attacks.select("attack_id", *SEARCHED).iter_rows(named=True):
        haystack = "\x1f".join(" ".join(row[c].lower().split()) for c in SEARCHED if row[c] is not None)
        if all(t in haystack for t in parsed.include) and not any(t in haystack for t in parsed.exclude):
            out.append(row["attack_id"])
    return sorted(out)


SEARCHES = [
    "sure", "SURE here", '"here is how"', '"HERE is  how"', "help -sure", '-"can\'t help"', "moon landing",
    '"landing was faked" -"(#0)"', '"here is', "pair moon", '"please help" -gcg -autodan', "vicuna -llama",
    "onerror", '"alert(1)</script> i can\'t"', '"(555) 010-9999"', "=hyperlink", "jane.doe@example.com",
    "help. assistant:", '"help. assistant: sure"',  # across the turns of a transcript
    "%", "_", "'; drop table attacks; --", '"\\', "a\x00b", "💥" * 500, "-please", "-x -y -z",
]


@pytest.mark.parametrize("text", SEARCHES)
def test_search_keeps_exactly_the_recounted_attacks(searched, text):
    con, attacks = searched
    got = sql.query(con, "attacks_in_scope", kind="queries", filters=Filters(text=text))
    assert sorted(got["attack_id"].to_list()) == recount(attacks, text)
    assert con.sql("select count(*) from attacks").fetchall()[0][0] == attacks.height  # nothing was touched


def test_search_reaches_every_field(searched):
    con, attacks = searched
    for column in SEARCHED:
        values = attacks.filter(pl.col(column).is_not_null())[column]
        if values.is_empty():
            continue
        phrase = " ".join(values[0].split()[:3])
        got = sql.query(con, "attacks_in_scope", kind="queries", filters=Filters(text=f'"{phrase}"'))
        assert got.height > 0 and sorted(got["attack_id"]) == recount(attacks, f'"{phrase}"'), column


def test_phrases_do_not_run_from_one_field_into_the_next(searched):
    con, attacks = searched
    row = attacks.filter(pl.col("task_description").is_not_null()).row(0, named=True)
    end_of_task = row["task_description"].split()[-1]
    start_of_attack = row["attack_text"].split()[0]
    spanning = f'"{end_of_task} {start_of_attack}"'
    got = sql.query(con, "attacks_in_scope", kind="queries", filters=Filters(text=spanning))
    assert row["attack_id"] not in got["attack_id"].to_list()


def test_search_combines_with_the_other_filters(searched):
    con, attacks = searched
    text = "help -sure"
    theme = attacks["theme"][0]
    got = sql.query(con, "attacks_in_scope", kind="queries", filters=Filters(text=text, themes=(theme,)))
    want = set(recount(attacks, text)) & set(attacks.filter(pl.col("theme") == theme)["attack_id"])
    assert want and set(got["attack_id"]) == want


def test_searches_select_something_and_not_everything(searched):
    """Guards the recount test against passing on empty results: most searches keep some attacks, not all."""
    con, attacks = searched
    sizes = [sql.query(con, "attacks_in_scope", kind="queries", filters=Filters(text=t)).height for t in SEARCHES]
    assert sum(0 < n < attacks.height for n in sizes) >= 5


def test_the_hostile_records_are_found_by_their_own_text(searched):
    con, attacks = searched
    if XSS_ID not in attacks["attack_id"].to_list():
        pytest.skip("the tool-like fixture has no hostile records")
    for text, attack_id in (('"onerror=alert(1)>" cookies', XSS_ID), ('"=hyperlink(" "calc\'!a0"', FORMULA_ID)):
        got = sql.query(con, "attacks_in_scope", kind="queries", filters=Filters(text=text))
        assert got["attack_id"].to_list() == [attack_id]
