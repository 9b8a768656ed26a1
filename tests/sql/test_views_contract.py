"""Contract of every view in sql/views (jaffle-shop style): keys unique, required columns not null,
vocabularies respected, rates in [0, 1], each interval around its estimate; plain and filtered."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

import sql
from sql.filters import Filters

REPO = Path(__file__).resolve().parents[2]

METRIC_BLOCK = (
    "n_attacks", "share_of_attacks", "mean_rating", "mean_rating_ci_low", "mean_rating_ci_high", "n_success",
    "success_rate", "success_ci_low", "success_ci_high", "mean_harmlessness", "harmlessness_ci_low",
    "harmlessness_ci_high", "tail_share",
)
METRIC_GRAIN_KEYS = ("grain", "theme", "cluster_id", "model_type", "model_size", "model_size_b", "attack_method",
                     "campaign", "category")

# view -> (unique key, columns that must never be null, has the metric block)
CONTRACTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "metric_settings": ((), ("tail_threshold", "min_cell_attacks", "baseline_model_type", "z"), False),
    "metric_cells": (METRIC_GRAIN_KEYS, ("grain", "n_attacks"), True),
    "overall_metrics": ((), ("n_attacks", "tail_threshold"), True),
    "theme_metrics": (("theme",), ("theme", "display_name", "n_attacks"), True),
    "theme_cells": (METRIC_GRAIN_KEYS, ("grain", "theme", "display_name", "n_attacks"), True),
    "model_cells": (("grain", "model_type", "model_size"), ("grain", "is_baseline", "n_attacks"), True),
    "cluster_metrics": (("cluster_id",), ("cluster_id", "cluster_label", "is_unclustered", "n_attacks"), True),
    "theme_model_metrics": (
        ("theme", "model_type", "model_size"), ("theme", "model_type", "model_size", "n_attacks"), True),
    "scaling_metrics": (("model_type", "model_size"), ("model_type", "model_size", "is_baseline", "n_attacks"), True),
    "model_type_metrics": (("model_type",), ("model_type", "is_baseline", "n_attacks"), True),
    "strongest_model_cell": ((), ("cell_label", "n_attacks", "success_rate"), False),
    "intervention_comparisons": (
        ("grain", "theme", "model_type", "model_size"), ("grain", "model_type", "baseline_model_type"), True),
    "intervention_effects": (
        ("theme", "model_type"), ("theme", "model_type", "baseline_model_type", "is_reduction_significant"), True),
    "intervention_effects_by_size": (
        ("theme", "model_type", "model_size"),
        ("theme", "model_type", "model_size", "baseline_model_type", "is_reduction_significant"), True),
    "intervention_summary": (("model_type",), ("model_type", "baseline_model_type", "is_reduction_significant"), True),
}
ONE_ROW_VIEWS = {"metric_settings", "overall_metrics"}
AT_MOST_ONE_ROW_VIEWS = {"strongest_model_cell"}

FRACTIONS = re.compile(r"(share|share_of_attacks|_rate|success_ci_low|success_ci_high|_score)$")
INTERVALS = (
    ("success_ci_low", "success_rate", "success_ci_high"),
    ("baseline_success_ci_low", "baseline_success_rate", "baseline_success_ci_high"),
    ("mean_rating_ci_low", "mean_rating", "mean_rating_ci_high"),
    ("harmlessness_ci_low", "mean_harmlessness", "harmlessness_ci_high"),
    ("reduction_ci_low", "reduction", "reduction_ci_high"),
)
SCOPES = {
    "all": None,
    "filtered": Filters(model_types=("plain lm", "rlhf"), success_threshold=2, red_team_pool="upwork"),
}
# the same views on a tool-output-like database (no model_type, rating or harmlessness)
TOOL_SCOPES = {
    "all": None,
    "filtered": Filters(categories=("Disinformation", "Privacy", "Economic harm"), attack_methods=("PAIR", "GCG"),
                        needs_review=False),
}


def test_every_view_has_a_contract():
    assert sorted(CONTRACTS) == sql.names("views")


def test_every_view_is_documented():
    schema_doc = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    metrics_doc = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    missing = [v for v in sql.names("views") if f"`{v}`" not in schema_doc or f"`{v}`" not in metrics_doc]
    assert not missing, f"views missing from docs/schema.md or docs/metrics.md: {missing}"


def test_every_view_states_its_grain_and_ends_with_final():
    for name in sql.names("views"):
        text = sql.read("views", name)
        assert text.startswith("-- grain:"), name
        assert re.search(r"select \* from final\s*(order by [^)]*)?$", text), name


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("view", sorted(CONTRACTS))
def test_view_contract(con, view, scope):
    check_contract(con, view, SCOPES[scope])


@pytest.mark.parametrize("scope", TOOL_SCOPES)
@pytest.mark.parametrize("view", sorted(CONTRACTS))
def test_view_contract_on_tool_output(tool_con, view, scope):
    check_contract(tool_con, view, TOOL_SCOPES[scope])


# views that compare interventions with the baseline: empty where the data names no intervention
INTERVENTION_VIEWS = {"intervention_comparisons", "intervention_effects", "intervention_effects_by_size",
                      "intervention_summary"}


def check_contract(con, view: str, filters: Filters | None) -> None:
    keys, required, has_block = CONTRACTS[view]
    if view in INTERVENTION_VIEWS and not con.sql("select count(model_type) from attacks").fetchall()[0][0]:
        assert sql.query(con, view, filters=filters).height == 0
        return
    rows = sql.query(con, view, filters=filters)
    vocab_themes = set(con.sql("select theme from themes").pl()["theme"])
    # model_type is the intervention, or the model name where there is none
    vocab_types = set(con.sql("select distinct coalesce(model_type, model) as m from attacks").pl()["m"])

    if view in ONE_ROW_VIEWS:
        assert rows.height == 1
    elif view in AT_MOST_ONE_ROW_VIEWS:
        assert rows.height <= 1
    else:
        assert rows.height > 0, f"{view} is empty on the fixture"
    if keys:
        assert not rows.select(keys).is_duplicated().any(), f"{view}: key {keys} not unique"
    sizes_known = con.sql("select count(*) = count(model_size) from attacks").fetchall()[0][0]
    for column in required:
        if column == "model_size" and not sizes_known:  # "gpt-4-0613" says no size: its cell has none
            continue
        assert rows[column].null_count() == 0, f"{view}.{column} has nulls"
    if has_block:
        assert set(METRIC_BLOCK) <= set(rows.columns), f"{view} lacks {set(METRIC_BLOCK) - set(rows.columns)}"
    if "theme" in rows.columns:
        assert set(rows["theme"].drop_nulls()) <= vocab_themes
    for column in ("model_type", "baseline_model_type"):
        if column in rows.columns and view != "metric_settings":  # its baseline is a setting, not data
            assert set(rows[column].drop_nulls()) <= vocab_types
    for column in rows.columns:
        if FRACTIONS.search(column) and rows[column].dtype.is_numeric():
            values = rows[column].drop_nulls()
            assert values.is_between(0, 1).all(), f"{view}.{column} outside [0, 1]"
    for low, estimate, high in INTERVALS:
        if estimate in rows.columns:
            checked = rows.filter(pl.col(estimate).is_not_null() & pl.col(low).is_not_null())
            assert (checked[low] <= checked[estimate] + 1e-12).all(), f"{view}: {low} > {estimate}"
            assert (checked[estimate] <= checked[high] + 1e-12).all(), f"{view}: {estimate} > {high}"


@pytest.mark.parametrize("view", sorted(CONTRACTS))
def test_unfiltered_scope_equals_the_view(con, view):
    """The scoped body with no filter gives exactly the published view: `attacks` inside the scoped SQL
    resolves to the in-scope CTE and nothing else changes."""
    plain = sql.query(con, view)
    scoped = sql.query(con, view, filters=Filters())
    assert scoped.sort(scoped.columns).equals(plain.sort(plain.columns))


def test_macros_travel_with_the_file_and_are_added_to_files_without_them(fixture_db, tmp_path):
    """The shared interval formulas (sql/macros) are stored in a published file, so its views work in a plain
    DuckDB; a file built before they existed still answers scoped questions through ``open_read_only``."""
    import shutil

    import duckdb

    from sql.database import open_read_only

    plain = duckdb.connect(str(fixture_db), read_only=True)
    try:
        stored = {r[0] for r in plain.execute(
            "select function_name from duckdb_functions() where function_type = 'macro' and not internal").fetchall()}
        view = plain.sql("select * from theme_metrics").pl()
    finally:
        plain.close()
    assert set(sql.names("macros")) <= stored
    older = tmp_path / "older.duckdb"
    shutil.copy(fixture_db, older)
    con = duckdb.connect(str(older))
    for name in sql.names("macros"):
        con.execute(f"drop macro {name}")
    con.close()
    ro = open_read_only(older)
    try:
        scoped = sql.query(ro, "theme_metrics", filters=Filters())
    finally:
        ro.close()
    cols = ["theme", "success_rate", "success_ci_low", "success_ci_high"]
    assert view.height > 1 and view["success_ci_low"].null_count() < view.height
    assert scoped.select(cols).sort("theme").equals(view.select(cols).sort("theme"))
