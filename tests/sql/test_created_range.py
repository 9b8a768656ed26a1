"""The created-at range of Filters (created_from / created_to): parsing, inclusive days, the SQL condition
against a recount in polars, the scope syntax and the description."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from etl.errors import UserError
from sql.compare import ScopeError, format_scope, parse_scope
from sql.database import Queries, open_read_only
from sql.filters import Filters
from tests import fixture_db as F

START = datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    """The default cells with created_at every 7 hours from 2026-01-01 (every 11th attack has none)."""
    attacks = F.make_attacks(F.default_spec(6))
    attacks = attacks.with_columns(
        pl.when(pl.int_range(pl.len()) % 11 == 10).then(None)
        .otherwise(pl.lit(START) + pl.duration(hours=7 * pl.int_range(pl.len())))
        .cast(pl.Datetime("us")).alias("created_at"))
    path = F.build_db(tmp_path_factory.mktemp("dated") / "dated.duckdb", attacks)
    con = open_read_only(path)
    yield Queries(con), attacks
    con.close()


def test_bounds_are_normalised_iso_text():
    f = Filters(created_from=" 2026-01-05 ", created_to="2026-01-06T12:30:00+02:00")
    assert f.created_from == "2026-01-05" and f.created_to == "2026-01-06T10:30:00"
    assert Filters(created_from=date(2026, 1, 5)).created_from == "2026-01-05"
    assert Filters(created_to="2026-01-06T10:30:00Z").created_to == "2026-01-06T10:30:00"
    assert Filters(created_from="") == Filters()


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026/01/05", "5"])
def test_a_bound_that_is_not_a_date_is_a_user_error(value):
    with pytest.raises(UserError, match="created_from must be an ISO date"):
        Filters(created_from=value)


def test_a_range_that_ends_before_it_starts_is_a_user_error():
    with pytest.raises(UserError, match="is after created_to"):
        Filters(created_from="2026-02-01", created_to="2026-01-31")
    Filters(created_from="2026-01-31", created_to="2026-01-31")  # one whole day is fine


@pytest.mark.parametrize(("low", "high"), [
    ("2026-01-03", "2026-01-05"),  # whole days, inclusive
    ("2026-01-03T07:00:00", "2026-01-04T14:00:00"),  # moments, inclusive at both ends
    ("2026-01-10", None),
    (None, "2026-01-02"),
])
def test_the_range_keeps_exactly_the_attacks_created_in_it(dated, low, high):
    q, attacks = dated
    lo = datetime.fromisoformat(low) if low else None
    if high is None:
        hi_excl = None
    elif len(high) == 10:
        hi_excl = datetime.fromisoformat(high) + timedelta(days=1)
    else:
        hi_excl = datetime.fromisoformat(high) + timedelta(microseconds=1)
    expected = attacks.filter(pl.col("created_at").is_not_null()
                              & (pl.lit(True) if lo is None else pl.col("created_at") >= lo)
                              & (pl.lit(True) if hi_excl is None else pl.col("created_at") < hi_excl))
    got = q.in_scope(Filters(created_from=low, created_to=high), "attack_id", "order by attack_id")
    assert got["attack_id"].to_list() == sorted(expected["attack_id"].to_list())
    assert 0 < got.height < attacks.height


def test_the_end_moment_itself_is_in_scope(dated):
    q, attacks = dated
    moment = attacks.filter(pl.col("created_at").is_not_null())["created_at"][5]
    got = q.in_scope(Filters(created_from=moment.isoformat(), created_to=moment.isoformat()), "attack_id")
    assert got.height == 1


def test_scope_syntax_and_description():
    f = parse_scope("model_type=rlhf,from=2026-01-01,to=2026-03-31")
    assert (f.created_from, f.created_to) == ("2026-01-01", "2026-03-31")
    assert parse_scope(format_scope(f)) == f
    assert f.describe().endswith("created 2026-01-01 to 2026-03-31")
    assert Filters(created_from="2026-01-01T08:00").describe() == "Created on or after 2026-01-01 08:00:00 UTC"
    assert Filters(created_to="2026-01-01").describe() == "Created on or before 2026-01-01"
    with pytest.raises(ScopeError, match="created_to must be an ISO date"):
        parse_scope("to=soon")


def test_url_round_trip_and_lenient_url():
    f = Filters(created_from="2026-01-01", created_to="2026-01-02T03:04:05")
    assert Filters.from_query(f.to_query()) == f
    assert Filters.from_query({"created_from": "nope", "models": "m"}) == Filters(models=("m",))
    assert Filters.from_query({"created_from": "2026-02-01", "created_to": "2026-01-01"}) == Filters()


def test_a_date_range_comparison_splits_the_attacks(dated):
    q, attacks = dated
    a, b = parse_scope("to=2026-01-20"), parse_scope("from=2026-01-21")
    result = q.compare(a, b)
    overall = result.overall()
    dated_rows = attacks.filter(pl.col("created_at").is_not_null())
    n_a = dated_rows.filter(pl.col("created_at") < datetime(2026, 1, 21)).height
    assert (overall["n_attacks_a"], overall["n_attacks_b"]) == (n_a, dated_rows.height - n_a)
