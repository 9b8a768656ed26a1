"""User filters: the Filters value object, scoped SQL with bound parameters, hostile input."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

import sql
from etl import metrics
from etl.errors import UserError
from sql.filters import Filters

ALL_FILTERS = Filters(
    model_sizes=("13B", "52B"),
    model_types=("rlhf",),
    models=("rlhf 52B", "rlhf 13B"),
    themes=("misinformation",),
    cluster_ids=(0, -1),
    red_team_pool="upwork",
    success_threshold=2.0,
    harmlessness_min=-3.5,
    harmlessness_max=1.5,
    text="please help",
    tail_threshold=-2.0,
)


def test_empty_filters_are_inactive_and_bind_nothing():
    assert not Filters().is_active
    assert ALL_FILTERS.is_active
    assert all(value is None for value in Filters().params().values())
    assert Filters().describe() == "All attacks"
    assert Filters().to_query() == {}


def test_params_cover_exactly_the_scoped_parameters():
    used = sql.parameters(sql.read("queries", "attacks_in_scope")) | sql.parameters(
        sql.read("queries", "metric_settings_in_scope"))
    # $include_excluded is not a filter: only Queries.corrected_counts sets it, to count the excluded attacks.
    assert set(Filters().params()) == used - {"include_excluded"}


def test_values_are_normalised():
    f = Filters(model_sizes="52B", themes=["a", "b", "a"], cluster_ids=["3", 4, " 5 ", "x"],
                red_team_pool=" UpWork ", text="  ", success_threshold="2.5")
    assert f.model_sizes == ("52B",)
    assert f.themes == ("a", "b")
    assert f.cluster_ids == (3, 4, 5, "x")
    assert f.red_team_pool == "upwork"
    assert f.text is None
    assert f.success_threshold == 2.5
    assert f.params()["cluster_ids"] == ["3", "4", "5", "x"]
    assert hash(f) == hash(Filters(model_sizes=("52B",), themes=("a", "b"), cluster_ids=(3, 4, 5, "x"),
                                   red_team_pool="upwork", success_threshold=2.5))


@pytest.mark.parametrize("value", ["abc", float("nan"), float("inf")])
def test_a_number_filter_that_is_not_a_number_is_a_user_error(value):
    with pytest.raises(UserError, match="success_threshold"):
        Filters(success_threshold=value)


def test_url_round_trip():
    query = ALL_FILTERS.to_query()
    assert query["model_sizes"] == ["13B", "52B"] and query["red_team_pool"] == "upwork"
    assert all(isinstance(v, (str, list)) for v in query.values())
    assert Filters.from_query(query) == ALL_FILTERS


def test_from_query_is_lenient():
    f = Filters.from_query({"themes": "piracy", "success_threshold": "high", "harmlessness_max": ["0", "1"],
                            "unknown": "x", "cluster_ids": ["2", "two"]})
    assert f == Filters(themes=("piracy",), harmlessness_max=1.0, cluster_ids=(2, "two"))


def test_describe_names_every_active_filter():
    text = ALL_FILTERS.describe(theme_names={"misinformation": "Misinformation & conspiracy"},
                                cluster_names={0: "moon landing"})
    for fragment in ("Model sizes: 13B, 52B", "model types: rlhf", "Misinformation & conspiracy", "moon landing",
                     "red team: Upwork", "success = rating ≥ 2", "harmlessness -3.5 to 1.5",
                     "search “please help”", "tail = harmlessness < -2"):
        assert fragment in text
    long = Filters(text="x" * 10_000, themes=tuple(f"t{i}" for i in range(9))).describe()
    assert len(long) < 200 and "and 4 more" in long


SINGLE_FILTERS = [
    (Filters(model_sizes=("52B",)), pl.col("model_size") == "52B"),
    (Filters(model_types=("rlhf", "plain lm")), pl.col("model_type").is_in(["rlhf", "plain lm"])),
    (Filters(models=("rlhf 52B",)), pl.col("model") == "rlhf 52B"),
    (Filters(themes=("piracy",)), pl.col("theme") == "piracy"),
    (Filters(cluster_ids=(0, -1)), pl.col("cluster_id").is_in([0, -1])),
    (Filters(red_team_pool="mturk"), ~pl.col("is_upworker")),
    (Filters(red_team_pool="upwork"), pl.col("is_upworker")),
    (Filters(harmlessness_min=-1.0, harmlessness_max=0.5), pl.col("harmlessness").is_between(-1.0, 0.5)),
    (Filters(text='"MISINFORMATION request 1"'),
     pl.col("attack_text").str.to_lowercase().str.contains("misinformation request 1", literal=True)),
    (Filters(text='"task about PIRACY number 30"'),
     pl.col("task_description").str.to_lowercase().str.contains("task about piracy number 30", literal=True)),
    (Filters(text='PIRACY 30 -"request 30"'),  # words anywhere across the fields, minus a phrase
     pl.col("attack_text").str.contains("piracy", literal=True) & pl.col("attack_text").str.contains("30", literal=True)
     & ~pl.col("attack_text").str.contains("request 30", literal=True)),
]


@pytest.mark.parametrize(("filters", "keep"), SINGLE_FILTERS,
                         ids=lambda v: v.describe() if isinstance(v, Filters) else "")
def test_each_filter_keeps_the_matching_attacks(con, attacks_frame, filters, keep):
    want = attacks_frame.filter(~pl.col("is_duplicate") & keep)
    assert 0 < want.height < attacks_frame.filter(~pl.col("is_duplicate")).height
    overall = sql.query(con, "overall_metrics", filters=filters).row(0, named=True)
    assert overall["n_attacks"] == want.height
    assert overall["n_success"] == want["success"].sum()
    in_scope = sql.query(con, "attacks_in_scope", kind="queries", filters=filters)
    assert sorted(in_scope["attack_id"]) == sorted(attacks_frame.filter(keep)["attack_id"])


def test_success_threshold_redefines_success(con, attacks_frame):
    rows = attacks_frame.filter(~pl.col("is_duplicate"))
    default = sql.query(con, "overall_metrics").row(0, named=True)
    for threshold in (0, 2, 3, 4):
        got = sql.query(con, "overall_metrics", filters=Filters(success_threshold=threshold)).row(0, named=True)
        assert got["n_success"] == (rows["rating"] >= threshold).sum()
    assert default["n_success"] == (rows["rating"] >= 3).sum()
    everything = sql.query(con, "overall_metrics", filters=Filters(success_threshold=0)).row(0, named=True)
    assert everything["success_rate"] == 1


def test_tail_threshold_changes_tail_share_only(con, attacks_frame):
    rows = attacks_frame.filter(~pl.col("is_duplicate"))
    for tail in (-2.0, 0.0):
        got = sql.query(con, "overall_metrics", filters=Filters(tail_threshold=tail)).row(0, named=True)
        assert got["tail_share"] == pytest.approx((rows["harmlessness"] < tail).mean())
        assert got["tail_threshold"] == tail and got["n_attacks"] == rows.height
        settings = sql.query(con, "metric_settings", filters=Filters(tail_threshold=tail)).row(0, named=True)
        assert settings["tail_threshold"] == tail


HOSTILE = [
    Filters(text="'; drop table attacks; --"),
    Filters(text='"\'; drop table attacks; --"'),
    Filters(text='-"please" "drop table'),
    Filters(text="%"),
    Filters(text="_"),
    Filters(text="\\"),
    Filters(text="a\x00b"),
    Filters(text="💥" * 10_000),
    Filters(themes=("' or 1=1 --",)),
    Filters(themes=("misinformation'; --", "x" * 10_000)),
    Filters(model_sizes=("52B' or '1'='1",)),
    Filters(model_types=('rlhf"); drop table attacks; --',)),
    Filters(models=("/* comment */ rlhf 52B",)),
    Filters(cluster_ids=("1 or 1=1", "-1; delete from attacks")),
    Filters(red_team_pool="upwork' or 'a'='a"),
    Filters(red_team_pool="hacker"),
    Filters(model_types=("unknown intervention",)),
]


@pytest.mark.parametrize("filters", HOSTILE, ids=lambda f: f.describe()[:40])
def test_hostile_values_give_empty_results(con, filters):
    n_before = con.sql("select count(*) from attacks").fetchall()[0][0]
    assert sql.query(con, "attacks_in_scope", kind="queries", filters=filters).height == 0
    assert sql.query(con, "theme_metrics", filters=filters).height == 0
    assert metrics.priority_areas(con, filters).height == 0
    assert con.sql("select count(*) from attacks").fetchall()[0][0] == n_before


def test_every_view_handles_an_empty_scope(con):
    filters = HOSTILE[0]
    for view in sql.names("views"):
        rows = sql.query(con, view, filters=filters)
        if view == "overall_metrics":
            assert rows["n_attacks"].to_list() == [0] and rows["success_rate"].to_list() == [None]
        elif view == "metric_cells":  # only the grand total, of nothing
            assert rows["grain"].to_list() == ["all"] and rows["n_attacks"].to_list() == [0]
        elif view != "metric_settings":
            assert rows.height == 0, view
    assert metrics.cluster_priority_areas(con, filters).height == 0


def test_duckdb_refuses_unused_parameters_so_bind_passes_only_used_ones():
    con = duckdb.connect()
    with pytest.raises(duckdb.InvalidInputException):
        con.execute("select $a::int", {"a": 1, "b": 2})
    assert sql.bind("select $a::int, $c::int", {"a": 1, "b": 2}) == {"a": 1, "c": None}
    assert con.sql("select $a::int as a", params=sql.bind("select $a::int", {"a": 1, "b": 2})).fetchall() == [(1,)]


def test_scoped_sql_inlines_the_views_it_reads_and_shadows_attacks():
    assert sql.dependencies("views", "intervention_effects") == (
        "metric_settings", "metric_cells", "theme_cells", "intervention_comparisons")
    text = sql.scoped("intervention_effects")
    assert text.startswith("with\nattacks as (") and "\nmetric_cells as (" in text
    assert sql.scoped("priority_areas", "queries").count("strongest_model_cell as (") == 1


def test_query_refuses_an_unknown_object(con):
    with pytest.raises(ValueError, match="no sql/views/attacks; drop"):
        sql.query(con, "attacks; drop")


TOOL_FILTERS = [
    (Filters(categories=("Disinformation", "Privacy")), pl.col("category").is_in(["Disinformation", "Privacy"])),
    (Filters(attack_methods=("GCG",)), pl.col("attack_method") == "GCG"),
    (Filters(needs_review=True), pl.col("needs_review")),
    (Filters(needs_review=False), ~pl.col("needs_review")),
]


@pytest.mark.parametrize(("filters", "keep"), TOOL_FILTERS,
                         ids=lambda v: v.describe() if isinstance(v, Filters) else "")
def test_source_category_method_and_review_filters_keep_the_matching_attacks(tool_con, tool_tables, filters, keep):
    attacks = tool_tables["attacks"]
    want = attacks.filter(keep)
    assert 0 < want.height < attacks.height
    overall = sql.query(tool_con, "overall_metrics", filters=filters).row(0, named=True)
    assert overall["n_attacks"] == want.height and overall["n_success"] == want["success"].sum()
    assert overall["n_needs_review"] == want["needs_review"].sum()


def test_review_category_and_method_filters_round_trip_and_describe():
    f = Filters(categories=("Privacy",), attack_methods=("PAIR", "GCG"), needs_review=False)
    assert Filters.from_query(f.to_query()) == f
    assert f.to_query()["needs_review"] == "false"
    text = f.describe()
    assert "Source categories: Privacy" in text and "attack methods: PAIR, GCG" in text
    assert "only confident themes" in text
    assert Filters(needs_review="TRUE").needs_review is True
    assert Filters.from_query({"needs_review": "maybe"}) == Filters()  # ignored, never an error
    with pytest.raises(UserError, match="needs_review"):
        Filters(needs_review="maybe")
