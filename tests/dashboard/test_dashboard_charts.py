"""Chart functions checked through ``fig.to_dict()``: right traces, right counts, inert text, small payload."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import pytest

from dashboard import charts
from sql.database import MAP_MAX_POINTS
from tests.fixture_db import XSS_ID, make_tables

N_MAP = 40_000
PAYLOAD_LIMIT = 5 * 1024 * 1024  # bytes of figure JSON for 40,000 points (Streamlit sends a repeat as a hash)


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    return make_tables()


@pytest.fixture(scope="module")
def points(tables) -> pl.DataFrame:
    themes = tables["themes"].select("theme", "display_name")
    return tables["attacks"].join(themes, on="theme", how="left", maintain_order="left")


def _values(array) -> np.ndarray:
    """A trace array from ``fig.to_dict()``: plain list or plotly's base64 typed array."""
    if isinstance(array, dict) and "bdata" in array:
        import base64

        flat = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
        shape = array.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(array)


@pytest.mark.parametrize("color_by", charts.MAP_COLOR_MODES)
def test_attack_map_has_one_point_per_attack_and_maps_back_to_rows(points, tables, color_by):
    fig = charts.attack_map(points, color_by, tables["clusters"]).to_dict()
    go.Figure(fig)  # the map skips plotly's validation for speed; every property must still be valid
    scatter = [t for t in fig["data"] if t["type"] == "scattergl"]
    labels = [t for t in fig["data"] if t["type"] == "scatter"]
    assert len(scatter) == points["theme"].n_unique()  # one WebGL trace per theme
    by_row = dict(zip(np.concatenate([_values(t["customdata"]) for t in scatter]).tolist(),
                      [h for t in scatter for h in t["hovertext"]]))
    for row, (model, rating) in enumerate(zip(points["model"], points["rating"])):
        assert by_row[row].startswith(html.escape(model, quote=False) + " · rating ")
    rows = np.concatenate([_values(t["customdata"]) for t in scatter])
    assert sorted(rows.tolist()) == list(range(points.height))  # every attack once, by row number
    assert sum(len(_values(t["x"])) for t in scatter) == points.height
    # cluster labels at the centres of clusters 0..7, not the unclustered -1
    assert len(labels) == 1 and len(labels[0]["text"]) == 8
    assert sum(t["showlegend"] for t in scatter) == (len(scatter) if color_by == "theme" else 0)


def test_attack_map_colours_by_rating_on_a_0_to_4_scale(points):
    fig = charts.attack_map(points, "rating").to_dict()
    assert fig["layout"]["coloraxis"]["cmin"] == 0 and fig["layout"]["coloraxis"]["cmax"] == 4
    colours = np.concatenate([_values(t["marker"]["color"]) for t in fig["data"]])
    assert colours.min() >= 0 and colours.max() <= 4


def test_attack_map_hover_text_is_escaped_and_short(points):
    fig = charts.attack_map(points, "rating").to_dict()
    row = points.with_row_index()["index"].filter(points["attack_id"] == XSS_ID)[0]
    for trace in fig["data"]:
        rows = _values(trace["customdata"]).tolist()
        if row in rows:
            text = trace["text"][rows.index(row)]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script" not in text and "<img" not in text
    assert all(len(t) <= charts.HOVER_CHARS + 30 for trace in fig["data"] for t in trace["text"])  # + escapes


def test_attack_map_rejects_an_unknown_colour_mode(points):
    with pytest.raises(ValueError, match="color_by"):
        charts.attack_map(points, "shoe size")


def test_attack_map_payload_for_40k_points_is_under_5_mb():
    rng = np.random.default_rng(0)
    themes = [f"Theme number {i}" for i in range(20)]
    frame = pl.DataFrame({
        "x": rng.normal(0, 5, N_MAP), "y": rng.normal(0, 5, N_MAP),
        "display_name": rng.choice(themes, N_MAP),
        "model": rng.choice(["context distillation 52B", "plain lm 2.7B", "rlhf 13B"], N_MAP),
        "rating": rng.integers(0, 5, N_MAP).astype(float),
        "harmlessness": rng.normal(0, 1.5, N_MAP),
        "success": rng.random(N_MAP) < 0.3,
        "cluster_id": rng.integers(-1, 150, N_MAP).astype(np.int32),
        # real task descriptions are one sentence, ~50 characters; every 10th one here is long and gets cut
        "task_description": [f"Get the assistant to explain something bad, try {i}" + ("!" * 100 if i % 10 == 0 else "")
                             for i in range(N_MAP)],
    }).with_columns(pl.col("display_name").alias("theme"))
    for mode in charts.MAP_COLOR_MODES:
        size = len(pio.to_json(charts.attack_map(frame, mode), validate=False))
        assert size < PAYLOAD_LIMIT, (mode, size)


def test_the_map_point_budget_is_within_the_measured_payload():
    """The page draws at most MAP_MAX_POINTS points; the test above holds N_MAP of them under the limit."""
    assert MAP_MAX_POINTS <= N_MAP


def test_density_map_counts_every_attack_and_its_size_depends_on_the_grid_only(points, tables):
    def cells(scale: int, grid: int = 40) -> pl.DataFrame:
        ix, iy = np.meshgrid(np.arange(grid), np.arange(grid))
        n = ((ix + iy) % 7) * scale  # some empty cells
        frame = pl.DataFrame({"cell_x": ix.ravel(), "cell_y": iy.ravel(), "n": n.ravel(),
                              "n_success": (n // 3).ravel()}).filter(pl.col("n") > 0)
        return frame.with_columns(x0=pl.lit(-5.0), x1=pl.lit(15.0), y0=pl.lit(0.0), y1=pl.lit(10.0))

    small, huge = cells(1), cells(100_000)
    fig = charts.density_map(huge, points, tables["clusters"])
    heat = next(t for t in fig.data if t.type == "heatmap")
    counts = np.asarray(heat.customdata)[..., 0]
    assert counts.sum() == huge["n"].sum()  # true counts in the hover
    assert counts[3, 2] == 5 * 100_000  # row = cell_y, column = cell_x
    assert np.isnan(np.asarray(heat.z, dtype=float)[0, 0])  # an empty cell stays empty
    assert any(t.type == "scatter" and t.name == "cluster labels" for t in fig.data)
    size = len(pio.to_json(charts.density_map(huge), validate=False))
    assert size < 200_000 and abs(size - len(pio.to_json(charts.density_map(small), validate=False))) < 20_000
    assert not charts.density_map(huge.head(0)).data  # nothing in scope: an empty figure


def test_rate_heatmap_cells_match_the_input(tables):
    cells = pl.DataFrame({
        "theme": ["a", "a", "b"], "display_name": ["A", "A", "B"], "model_type": ["plain lm", "rlhf", "plain lm"],
        "success_rate": [0.5, 0.1, 0.2], "success_ci_low": [0.4, 0.05, 0.1], "success_ci_high": [0.6, 0.2, 0.3],
        "n_attacks": [10, 20, 30], "n_success": [5, 2, 6],
    })
    fig = charts.rate_heatmap(cells).to_dict()
    heat = fig["data"][0]
    assert heat["type"] == "heatmap" and heat["y"] == ["A", "B"] and heat["x"] == ["plain lm", "rlhf"]
    z = _values(heat["z"]).astype(float)
    assert z[0].tolist() == [0.5, 0.1] and z[1, 0] == 0.2 and np.isnan(z[1, 1])  # b × rlhf has no data
    assert _values(heat["customdata"])[0, 1].tolist() == [2, 20, 0.05, 0.2]  # counts and CI for the hover


def test_rate_bars_are_sorted_with_non_negative_error_bars():
    themes = pl.DataFrame({
        "theme": ["x", "y", "z"], "success_rate": [0.3, 0.1, 0.2], "success_ci_low": [0.2, 0.0, 0.1],
        "success_ci_high": [0.4, 0.3, 0.35], "n_attacks": [10, 10, 10],
    })
    bar = charts.rate_bars(themes).to_dict()["data"][0]
    assert bar["y"] == ["y", "z", "x"]
    assert (_values(bar["error_x"]["array"]) >= 0).all() and (_values(bar["error_x"]["arrayminus"]) >= 0).all()


def test_scaling_chart_draws_one_line_per_intervention_on_a_log_axis():
    rows = [(t, s, b, 2.0 - (i * 0.3 if t == "rlhf" else 0), 10) for t in ("plain lm", "rlhf")
            for i, (s, b) in enumerate((("2.7B", 2.7), ("13B", 13.0), ("52B", 52.0)))]
    frame = pl.DataFrame(rows, schema=["model_type", "model_size", "model_size_b", "mean_rating", "n_attacks"],
                         orient="row").with_columns(
        (pl.col("mean_rating") - 0.2).alias("mean_rating_ci_low"),
        (pl.col("mean_rating") + 0.2).alias("mean_rating_ci_high"))
    fig = charts.scaling_chart(frame, "mean_rating").to_dict()
    assert [t["name"] for t in fig["data"]] == ["plain lm", "rlhf"]
    assert fig["layout"]["xaxis"]["type"] == "log"
    rlhf = fig["data"][1]
    assert _values(rlhf["x"]).tolist() == [2.7, 13.0, 52.0]
    assert np.allclose(_values(rlhf["y"]), [2.0, 1.7, 1.4])
    assert np.allclose(_values(rlhf["error_y"]["array"]), 0.2)


def test_intervention_effects_chart_has_a_trace_per_intervention_and_marks_zero():
    frame = pl.DataFrame({
        "theme": ["a", "a", "b", "b"], "display_name": ["A", "A", "B", "B"],
        "model_type": ["rlhf", "rejection sampling", "rlhf", "rejection sampling"],
        "reduction": [0.3, -0.05, 0.1, 0.0], "reduction_ci_low": [0.2, -0.2, -0.05, -0.1],
        "reduction_ci_high": [0.4, 0.1, 0.25, 0.1], "n_attacks": [10, 10, 10, 10],
    })
    fig = charts.intervention_effects_chart(frame).to_dict()
    assert [t["name"] for t in fig["data"]] == ["rejection sampling", "rlhf"]
    assert sum(len(t["x"]) for t in fig["data"]) == 4
    assert any(s.get("type") == "rect" and s.get("x1") == 0 for s in fig["layout"]["shapes"])


def test_priority_chart_components_add_up_to_the_score(tables, fixture_db):
    import duckdb

    from etl import metrics

    con = duckdb.connect(str(fixture_db), read_only=True)
    try:
        areas = metrics.priority_areas(con)
    finally:
        con.close()
    parts = charts.priority_contributions(areas)
    total = sum(parts[c] for c in charts.PRIORITY_COMPONENTS)
    assert np.allclose(total.to_numpy(), areas["score"].to_numpy())
    fig = charts.priority_chart(areas).to_dict()
    assert [t["name"] for t in fig["data"]] == list(charts.PRIORITY_COMPONENTS)
    assert fig["data"][0]["y"][0].startswith("#1 ")


def test_attack_map_labels_only_the_largest_clusters(points, tables):
    fig = charts.attack_map(points, "rating", tables["clusters"], max_labels=3).to_dict()
    labels = next(t for t in fig["data"] if t["type"] == "scatter")
    sizes = (points.filter(pl.col("cluster_id") >= 0)["cluster_id"].value_counts()
             .sort(["count", "cluster_id"], descending=[True, False]))  # ties: lower id first
    names = dict(zip(tables["clusters"]["cluster_id"], tables["clusters"]["label"]))
    assert list(labels["text"]) == [names[c] for c in sizes["cluster_id"].head(3)]


def test_intervention_effects_chart_puts_the_least_helped_theme_on_top():
    frame = pl.DataFrame({
        "theme": ["a", "b", "c"], "model_type": ["rlhf"] * 3, "reduction": [0.3, -0.1, 0.1],
        "reduction_ci_low": [0.2, -0.2, 0.0], "reduction_ci_high": [0.4, 0.0, 0.2],
    })
    order = charts.intervention_effects_chart(frame).to_dict()["layout"]["yaxis"]["categoryarray"]
    assert list(order) == ["a", "c", "b"]  # bottom to top: b (no help) is the top row


def test_attack_map_layout_still_validates_later_updates(points):
    fig = charts.attack_map(points, "theme")
    fig.update_layout(template="plotly_white")  # what a report does: the name must become a real template
    assert isinstance(fig.layout.template, go.layout.Template)
    assert fig.layout.template.layout.plot_bgcolor == "white"


@pytest.mark.parametrize("color_by", charts.MAP_GROUP_MODES)
def test_attack_map_colours_tool_output_by_its_own_columns_with_a_legend(color_by):
    tool = make_tables(tool_like=True)
    frame = tool["attacks"].join(tool["themes"].select("theme", "display_name"), on="theme", how="left",
                                 maintain_order="left")
    fig = charts.attack_map(frame, color_by, tool["clusters"]).to_dict()
    go.Figure(fig)
    scatter = [t for t in fig["data"] if t["type"] == "scattergl"]
    names = {html.unescape(t["name"]) for t in scatter}
    assert names == set(frame[color_by].drop_nulls())  # one legend entry per method / category (escaped)
    assert all(t["showlegend"] for t in scatter)
    assert not any("<i>" in t["name"] for t in scatter)
    rows = np.concatenate([_values(t["customdata"]) for t in scatter])
    assert sorted(rows.tolist()) == list(range(frame.height))
    hover = dict(zip(rows.tolist(), [h for t in scatter for h in t["hovertext"]]))
    for row, (theme, success) in enumerate(zip(frame["display_name"], frame["success"])):
        assert hover[row].startswith(html.escape(theme, quote=False) + " · ")
        assert f"success {'yes' if success else 'no'}" in hover[row]


def test_attack_map_draws_weak_cluster_members_smaller_and_says_so(points):
    fig = charts.attack_map(points, "theme").to_dict()
    weak = set(points.with_row_index().filter((pl.col("cluster_id") >= 0) & (pl.col("cluster_strength")
                                              < charts.WEAK_MEMBER))["index"].to_list())
    assert weak
    for trace in fig["data"]:
        rows = _values(trace["customdata"]).tolist()
        sizes = _values(trace["marker"]["size"]).tolist()
        for row, size, hover in zip(rows, sizes, trace["hovertext"]):
            assert (size == charts.WEAK_MARKER_SIZE) == (row in weak)
            assert ("weak cluster member" in hover) == (row in weak)
            assert " · theme " in hover and " by model" in hover  # confidence and provenance
