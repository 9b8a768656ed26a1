"""AppTest of every page on data without the paper's grid (tool outputs: a target model name and a success
flag; no intervention, no 0–4 rating, no harmlessness), and of the theme-confidence features on both shapes."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.fixture_db import TOOL_CATEGORIES, TOOL_METHODS, TOOL_MODELS, UNMAPPED_CATEGORIES, make_tables
from tests.dashboard.test_dashboard_app import NOT_FILTERED, PAGES, metric, open_page, plain
from tests.dashboard.test_dashboard_app import texts as _texts

TOOL = make_tables(tool_like=True, is_demo=False)["attacks"]
PAPER = make_tables()["attacks"]
HOSTILE_CATEGORY = next(c for c in TOOL_CATEGORIES if "<" in c)


def texts(at) -> str:
    """Everything the page says, without markdown emphasis (``**bold**``)."""
    return _texts(at).replace("**", "")


def subheaders(at) -> list[str]:
    return [s.value for s in at.subheader]


def chart_keys(at) -> list[str]:
    return [c.proto.id for c in at.get("plotly_chart")]


def chart(at, key_part: str) -> dict:
    for c in at.get("plotly_chart"):
        if key_part in c.proto.id:
            return json.loads(c.proto.spec)
    raise AssertionError(f"no chart {key_part!r} among {chart_keys(at)}")


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_on_tool_output(tool_app, page):
    at = open_page(tool_app(), page)
    assert [t.value for t in at.title] == [PAGES[page]]
    assert not at.error
    shown = texts(at)
    assert "n = 0 attacks" not in shown
    assert "all models" not in shown
    if page == "scaling_interventions":  # only the sized models: gpt-4-0613 and gpt-3.5-turbo-1106 say no size
        n_sized = TOOL.filter(pl.col("model_size_b").is_not_null()).height
        assert 0 < n_sized < TOOL.height
        assert any(c.value.startswith(f"n = {n_sized:,} attacks") for c in at.caption)
    elif page not in NOT_FILTERED:
        assert any(c.value.startswith(f"n = {TOOL.height:,} attacks") for c in at.caption)


def test_overview_uses_the_success_flag_and_names_models(tool_app):
    at = open_page(tool_app(), "overview")
    assert metric(at, "Attacks") == f"{TOOL.height:,}"
    assert metric(at, "Success rate") == f"{TOOL['success'].mean():.1%}"
    assert metric(at, "Low-confidence themes") == f"{TOOL['needs_review'].mean():.1%}"
    explanations = [t.value for t in at.text]
    assert any(m in e for e in explanations for m in TOOL_MODELS)  # "still succeeds on llama-2-7b-chat …"


def test_themes_models_shows_models_methods_and_campaigns_and_says_why_not_sizes(tool_app):
    at = open_page(tool_app(), "themes_models")
    heads = subheaders(at)
    assert "Theme × model" in heads and "Theme × intervention" not in heads
    heat = chart(at, "heat_type")["data"][0]
    assert sorted(heat["x"]) == sorted(TOOL_MODELS)  # one column per target model, none empty
    assert sorted(chart(at, "heat_attack_method")["data"][0]["x"]) == sorted(TOOL_METHODS)
    assert "heat_campaign" in " ".join(chart_keys(at))
    assert "Theme × model size per intervention is not shown" in texts(at)
    assert "--map model_type=COL" in texts(at)


def test_themes_can_be_grouped_by_source_category_with_hostile_labels_escaped(tool_app):
    at = open_page(tool_app(), "themes_models")
    at.radio(key="group_rows").set_value("category").run()
    assert not at.exception
    heads = subheaders(at)
    assert "Source category × model" in heads
    rows = chart(at, "heat_type")["data"][0]["y"]
    assert "Fraud/&lt;i&gt;Deception&lt;/i&gt; **x**" in rows and not any("<i>" in r for r in rows)
    table = at.dataframe[-1].value
    assert set(table["category"]) == set(TOOL_CATEGORIES)


def test_scaling_plots_success_by_parsed_size_and_explains_the_missing_views(tool_app):
    at = open_page(tool_app(), "scaling_interventions")
    fig = chart(at, "scaling_rating")
    sized = set(TOOL.filter(pl.col("model_size_b").is_not_null())["model"])
    assert {t["name"] for t in fig["data"]} == sized == {"vicuna-13b-v1.5", "llama-2-7b-chat"}
    assert "scaling_harmlessness" not in " ".join(chart_keys(at))
    shown = texts(at)
    assert "Harmlessness by size is not shown" in shown and "--map harmlessness=COL" in shown
    assert "Intervention effects is not shown" in shown and "--map model_type=COL" in shown


def test_attack_map_offers_only_colourings_the_data_has(tool_app):
    at = open_page(tool_app(), "attack_map")
    radio = at.radio(key="map_color")
    assert radio.value == "success" and radio.options[0] == "Success"  # options are the labels
    assert "Rating" not in radio.options and "Harmlessness" not in radio.options
    assert "Colouring by rating is not offered" in texts(at)
    hover = [h for t in chart(at, "attack_map")["data"] if t["type"] == "scattergl" for h in t["hovertext"]]
    assert all(" · success " in h and " · rating" not in h for h in hover)
    assert any("needs review" in h for h in hover) and any("theme 100% by source" in h for h in hover)
    assert any("weak cluster member" in h for h in hover)
    assert {"Attack method", "Source category"} <= set(radio.options)
    radio.set_value("category").run()
    assert not at.exception
    legend = {t["name"] for t in chart(at, "attack_map")["data"] if t["type"] == "scattergl"}
    assert "Fraud/&lt;i&gt;Deception&lt;/i&gt; **x**" in legend


def test_priorities_warn_about_areas_resting_on_low_confidence_themes(tool_app):
    at = open_page(tool_app(), "priorities")
    warning = plain(" ".join(w.value for w in at.warning))
    assert "rest mostly on low-confidence themes" in warning and "Privacy & personal information" in warning
    table = at.dataframe[0].value
    assert "needs_review_share" in table.columns


def test_category_method_and_review_filters_apply_and_live_in_the_url(tool_app):
    at = open_page(tool_app(), "overview")
    at.sidebar.multiselect(key="filter_categories").select("Disinformation").select("Privacy")
    at.sidebar.multiselect(key="filter_attack_methods").select("GCG")
    at.sidebar.radio(key="filter_needs_review").set_value("confident")
    at.run()
    want = TOOL.filter(pl.col("category").is_in(["Disinformation", "Privacy"]) & (pl.col("attack_method") == "GCG")
                       & ~pl.col("needs_review"))
    assert metric(at, "Attacks") == f"{want.height:,}"
    assert at.query_params["categories"] == ["Disinformation", "Privacy"]
    assert at.query_params["needs_review"] == "false"
    assert "only confident themes" in texts(at)


def test_hostile_category_from_the_url_is_inert(tool_app):
    at = open_page(tool_app(categories=[HOSTILE_CATEGORY]), "themes_models")
    want = TOOL.filter(pl.col("category") == HOSTILE_CATEGORY).height
    assert any(c.value.startswith(f"n = {want:,} attacks") for c in at.caption)
    assert any("\\<i\\>" in c.value for c in at.caption)  # escaped, so markdown shows it as text


def test_explorer_shows_confidence_and_hides_columns_the_data_lacks(tool_app):
    at = open_page(tool_app(), "explorer")
    columns = set(at.dataframe[0].value.columns)
    assert {"theme_confidence", "theme_source", "needs_review", "category", "attack_method"} <= columns
    assert not columns & {"rating", "harmlessness", "model_type", "is_upworker"}
    assert "rating" not in at.selectbox(key="explorer_sort").options
    assert "theme confidence" in at.selectbox(key="explorer_sort").options
    sidebar_keys = {w.key for w in at.sidebar.multiselect}
    assert "filter_model_types" not in sidebar_keys and "filter_models" in sidebar_keys  # no empty widget


def test_needs_review_filter_on_the_paper_data(app):
    at = open_page(app(needs_review="true"), "overview")
    assert metric(at, "Attacks") == f"{PAPER['needs_review'].sum() + 0:,}"
    assert at.sidebar.radio(key="filter_needs_review").value == "needs_review"
    assert "only low-confidence themes" in texts(at).lower()


def test_paper_data_still_shows_its_grid(app):
    at = open_page(app(), "themes_models")
    assert "Theme × intervention" in subheaders(at)
    assert "Theme × attack method is not shown" in texts(at)  # that data has no attack method
    at = open_page(app(), "scaling_interventions")
    keys = " ".join(chart_keys(at))
    assert "scaling_rating" in keys and "scaling_harmlessness" in keys and "effects" in keys


def test_data_and_runs_lists_unmapped_source_categories_with_counts(tool_app):
    at = open_page(tool_app(), "data_runs")
    assert not at.exception
    table = next(d.value for d in at.dataframe if "n_attacks" in d.value.columns)
    assert dict(zip(table["category"], table["n_attacks"], strict=True)) == UNMAPPED_CATEGORIES
    assert list(table["n_attacks"]) == sorted(UNMAPPED_CATEGORIES.values(), reverse=True)
    assert any("--category-map" in c.value for c in at.caption)


def test_data_and_runs_says_when_no_category_is_unmapped(app):
    at = open_page(app(), "data_runs")
    assert any("mapped to a theme" in s.value for s in at.success)
