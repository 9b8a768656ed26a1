"""Pure chart functions: a DataFrame (polars or pandas) in, a plotly Figure out.

No Streamlit and no database here, so the dashboard and the PDF/HTML reports draw the same numbers with the
same code, and tests check them with ``fig.to_dict()``. Column names follow ``docs/schema.md``: rates and
shares are fractions 0–1, ``rating`` is the 0–4 self-rating, ``harmlessness`` the preference-model score
(lower = more harmful), ``model_size_b`` billions of parameters; every ``*_ci_low``/``*_ci_high`` is a 95 % CI.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import polars as pl

from etl.domain import ANTHROPIC_MODEL_TYPES, COMPONENTS

MAP_COLOR_MODES = ("rating", "theme", "cluster", "harmlessness", "success")
# Colourings by a column of the input (tool outputs): one legend entry per value, the theme moves into the hover.
MAP_GROUP_MODES = ("attack_method", "category")
HOVER_CHARS = 120  # task descriptions longer than this are cut in the map's hover
QUALITATIVE = (
    "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC",
    "#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#17BECF", "#BCBD22", "#7F7F7F",
)
NOISE_COLOR = "#C8C8C8"
WEAK_MEMBER = 0.5  # cluster_strength below this: a weak member, attached to its nearest cluster (drawn smaller)
MARKER_SIZE = 4
WEAK_MARKER_SIZE = 2
# Metric column -> its CI columns (docs/schema.md metric block).
CI_COLUMNS = {
    "success_rate": ("success_ci_low", "success_ci_high"),
    "mean_rating": ("mean_rating_ci_low", "mean_rating_ci_high"),
    "mean_harmlessness": ("harmlessness_ci_low", "harmlessness_ci_high"),
    "reduction": ("reduction_ci_low", "reduction_ci_high"),
}
METRIC_LABELS = {
    "success_rate": "Success rate",
    "mean_rating": "Mean rating (0–4, higher = more successful attack)",
    "mean_harmlessness": "Mean harmlessness (lower = more harmful)",
    "reduction": "Reduction in success rate vs plain LM (points)",
}


def _frame(df) -> pl.DataFrame:
    return df if isinstance(df, pl.DataFrame) else pl.from_pandas(df)


def _ordered(values: Sequence, preferred: Sequence = ANTHROPIC_MODEL_TYPES) -> list:
    present = [v for v in dict.fromkeys(values) if v is not None]
    return [v for v in preferred if v in present] + sorted(v for v in present if v not in preferred)


def _label_col(df: pl.DataFrame, key: str) -> str:
    return "display_name" if key == "theme" and "display_name" in df.columns else key


def _base_layout(fig: go.Figure, title: str | None, height: int | None = None) -> go.Figure:
    fig.update_layout(
        title=dict(text=html.escape(title)) if title else None,
        margin=dict(l=10, r=10, t=50 if title else 20, b=10),
        height=height,
        hoverlabel=dict(align="left"),
    )
    return fig


def hover_escape(text: str | None, limit: int = HOVER_CHARS) -> str:
    """``text`` cut to ``limit`` characters (with …) and HTML-escaped, so plotly shows it as plain text."""
    if text is None:
        return ""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)


def attack_map(points, color_by: str = "rating", clusters=None, title: str | None = None,
               max_labels: int = 20) -> go.Figure:
    """The attack map (the paper's Fig. 2): one WebGL point per row of ``points`` at (x, y); the caller bounds
    the rows (``sql.database.Queries.map_points`` sends a sample of at most ``MAP_MAX_POINTS``).

    ``points`` needs ``x, y, theme, model, rating, harmlessness, success, cluster_id, task_description``
    (``display_name`` is used for the theme when present). Optional: ``theme_confidence`` and
    ``theme_source`` (shown in the hover), ``needs_review`` (hover note) and ``cluster_strength``: members
    of a cluster weaker than ``WEAK_MEMBER`` are drawn smaller and say so in the hover. The hover shows
    the rating, or the success flag where there is no rating. ``color_by`` is one of ``MAP_COLOR_MODES``.
    ``clusters`` (optional: ``cluster_id, label``) adds the labels of the ``max_labels`` largest clusters in
    view at the centre of their points. Each point's ``customdata`` is its row number in ``points``, which
    is how a selection is mapped back to attacks.

    Payload and speed (40,000 points must stay under 5 MB and serialize in well under 0.1 s): float32
    coordinates and int32 row numbers travel as binary arrays; points are split into one trace per theme, so
    the theme (trace name) is sent once per trace, not once per point; per point only the cut, escaped task
    description and "model · rating" are text. Few traces matter more than a few bytes: plotly converts every
    array of every trace when the figure is serialized, which cost 0.14 s at 253 theme × model traces and
    0.03 s at 22. The traces skip plotly's per-property validation; tests validate the output instead.
    """
    if color_by not in (*MAP_COLOR_MODES, *MAP_GROUP_MODES):
        raise ValueError(f"color_by must be one of {MAP_COLOR_MODES + MAP_GROUP_MODES}, got {color_by!r}")
    frame = _frame(points)
    label = _label_col(frame, "theme")
    theme_of = frame[label].fill_null("unknown").to_list()
    grouped = color_by in MAP_GROUP_MODES  # traces per value of that column instead of per theme
    if grouped:
        group_of = frame[color_by].fill_null(f"no {color_by.replace('_', ' ')}").to_list()
    else:
        group_of = theme_of
    themes = _ordered(group_of, ())
    cluster_id = frame["cluster_id"].fill_null(-1).to_numpy()
    cluster_ids = sorted(int(c) for c in np.unique(cluster_id) if c >= 0)

    # every per-point array once, as numpy; traces take slices of them
    x = frame["x"].cast(pl.Float32).to_numpy()
    y = frame["y"].cast(pl.Float32).to_numpy()
    text = np.array([hover_escape(t) for t in frame["task_description"].to_list()], dtype=str)
    model_names = {m: hover_escape(m, 40) for m in frame["model"].fill_null("unknown model").unique().to_list()}
    weak = _weak_members(frame, cluster_id)
    hovertext = np.array([f"{model_names[m]} · {outcome}{note}" for m, outcome, note in
                          zip(frame["model"].fill_null("unknown model").to_list(), _outcomes(frame),
                              _theme_notes(frame, weak))], dtype=str)
    if grouped:  # the trace name is the group, so the theme goes first in the per-point hover
        theme_names = {n: hover_escape(n, 40) for n in set(theme_of)}
        hovertext = np.array([f"{theme_names[n]} · {h}" for n, h in zip(theme_of, hovertext.tolist())], dtype=str)
    sizes = np.where(weak, WEAK_MARKER_SIZE, MARKER_SIZE).astype(np.float32)
    template = "%{text}<br><b>%{fullData.name}</b> · %{hovertext}<extra></extra>"
    color = _map_colors(frame, color_by, cluster_id, cluster_ids)

    position = {t: i for i, t in enumerate(themes)}
    theme_code = np.array([position[t] for t in group_of], dtype=np.int32)
    order = np.argsort(theme_code, kind="stable").astype(np.int32)
    starts = np.flatnonzero(np.r_[True, theme_code[order][1:] != theme_code[order][:-1]]) if frame.height else []
    ends = np.r_[starts[1:], frame.height] if frame.height else []

    traces = []
    for start, end in zip(starts, ends):
        idx = order[start:end]
        t = int(theme_code[idx[0]])
        marker: dict = dict(size=sizes[idx] if weak.any() else MARKER_SIZE, opacity=0.75)
        if color is None:
            marker["color"] = QUALITATIVE[t % len(QUALITATIVE)]
        else:
            marker.update(color=color[idx], coloraxis="coloraxis")
        name = html.escape(str(themes[t]))
        traces.append(go.Scattergl(
            x=x[idx], y=y[idx], mode="markers", name=name, legendgroup=name,
            marker=marker, customdata=idx, text=text[idx], hovertext=hovertext[idx], hovertemplate=template,
            showlegend=color is None, _validate=False,
        ))
    labels = cluster_labels(frame, clusters, max_labels)
    if labels is not None:
        traces.append(labels)
    # Traces unvalidated (hundreds take seconds otherwise); the layout validated, so templates resolve.
    fig = go.Figure(data=traces, layout=go.Layout(), _validate=False)
    fig._validate = fig.layout._validate = True  # later layout updates (e.g. a report's template) are validated
    coloraxis = _map_coloraxis(color_by)
    if coloraxis:
        fig.update_layout(coloraxis=coloraxis)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    fig.update_layout(dragmode="lasso", legend=dict(itemsizing="constant"))
    return _base_layout(fig, title, height=620)


def cluster_labels(points, clusters, max_labels: int = 20) -> go.Scatter | None:
    """A text trace with the labels of the ``max_labels`` largest clusters among ``points`` (``cluster_id, x, y``)
    at the centre of their points, so labels stay on the points when filtered; None without clusters."""
    if clusters is None:
        return None
    frame = _frame(points)
    centres = (frame.filter(pl.col("cluster_id") >= 0).group_by("cluster_id")
               .agg(pl.col("x").mean(), pl.col("y").mean(), pl.len().alias("n"))
               .sort(["n", "cluster_id"], descending=[True, False]).head(max_labels))
    if centres.height == 0:
        return None
    names = dict(zip(_frame(clusters)["cluster_id"].to_list(), _frame(clusters)["label"].to_list()))
    return go.Scatter(
        x=centres["x"].to_list(), y=centres["y"].to_list(), mode="text",
        text=[hover_escape(names.get(c, f"cluster {c}"), 40) for c in centres["cluster_id"].to_list()],
        textfont=dict(size=11, color="#222"), hoverinfo="skip", showlegend=False, name="cluster labels",
    )


def density_map(cells, points=None, clusters=None, title: str | None = None, max_labels: int = 20) -> go.Figure:
    """The attack map as a density layer: every attack counted per grid cell, nothing sampled.

    ``cells``: one row per non-empty cell with ``cell_x, cell_y`` (grid indices), ``x0, x1, y0, y1`` (the
    extent the grid covers), ``n`` and ``n_success`` (``sql.database.Queries.map_density``). Colour is
    log10 of the count (the colour bar is labelled in attacks), the hover gives the true count and the share
    of successful attacks. ``points`` and ``clusters`` (as for ``attack_map``) add the cluster labels. The
    figure's size depends on the grid, not on the number of attacks.
    """
    frame = _frame(cells)
    traces: list = []
    if frame.height:
        x0, x1, y0, y1 = (float(frame[c][0]) for c in ("x0", "x1", "y0", "y1"))
        gx = int(frame["cell_x"].max()) + 1 if x1 > x0 else 1
        gy = int(frame["cell_y"].max()) + 1 if y1 > y0 else 1
        grid = max(gx, gy)
        n = np.zeros((grid, grid), dtype=np.float64)
        success = np.zeros((grid, grid), dtype=np.float64)
        cx, cy = frame["cell_x"].to_numpy(), frame["cell_y"].to_numpy()
        n[cy, cx] = frame["n"].to_numpy()
        success[cy, cx] = frame["n_success"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(n > 0, np.log10(n), np.nan).astype(np.float32)
            share = np.where(n > 0, success / n, np.nan)
        dx, dy = (x1 - x0) / grid or 1.0, (y1 - y0) / grid or 1.0
        top = int(np.ceil(np.log10(max(float(n.max()), 1.0))))
        traces.append(go.Heatmap(
            x=(x0 + (np.arange(grid) + 0.5) * dx).astype(np.float32),
            y=(y0 + (np.arange(grid) + 0.5) * dy).astype(np.float32),
            z=z, customdata=np.dstack([n, share]), colorscale="Viridis", zmin=0, zmax=max(top, 1),
            colorbar=dict(title="attacks", tickvals=list(range(max(top, 1) + 1)),
                          ticktext=[f"{10 ** i:,}" for i in range(max(top, 1) + 1)]),
            hovertemplate="%{customdata[0]:,} attacks here<br>%{customdata[1]:.0%} successful<extra></extra>",
            hoverongaps=False, name="density",
        ))
    labels = cluster_labels(points, clusters, max_labels) if points is not None else None
    if labels is not None:
        traces.append(labels)
    fig = go.Figure(data=traces)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    return _base_layout(fig, title, height=620)


def _weak_members(frame: pl.DataFrame, cluster_id: np.ndarray) -> np.ndarray:
    """True per point that is a weak member of a cluster (strength below ``WEAK_MEMBER``; not the unclustered)."""
    if "cluster_strength" not in frame.columns:
        return np.zeros(frame.height, dtype=bool)
    strength = frame["cluster_strength"].cast(pl.Float64).fill_null(1.0).to_numpy()
    return (cluster_id >= 0) & (strength < WEAK_MEMBER)


def _outcomes(frame: pl.DataFrame) -> list[str]:
    """Per point "rating 3" where the data has ratings, else "success yes/no" (tool outputs have no rating)."""
    ratings = frame["rating"].to_list()
    if any(r is not None for r in ratings) or "success" not in frame.columns:
        return [f"rating {'n/a' if r is None else f'{r:g}'}" for r in ratings]
    return [f"success {'n/a' if s is None else ('yes' if s else 'no')}" for s in frame["success"].to_list()]


def _theme_notes(frame: pl.DataFrame, weak: np.ndarray) -> list[str]:
    """Per point: theme confidence and provenance, "needs review", "weak cluster member" (short, escaped)."""
    n = frame.height
    conf = frame["theme_confidence"].to_list() if "theme_confidence" in frame.columns else [None] * n
    source = frame["theme_source"].to_list() if "theme_source" in frame.columns else [None] * n
    review = frame["needs_review"].to_list() if "needs_review" in frame.columns else [None] * n
    notes = []
    for c, s, r, w in zip(conf, source, review, weak.tolist()):
        parts = []
        if c is not None or s is not None:
            parts.append("theme " + " ".join(p for p in (None if c is None else f"{c:.0%}",
                                                           None if s is None else f"by {hover_escape(s, 12)}") if p))
        if r:
            parts.append("needs review")
        if w:
            parts.append("weak cluster member")
        notes.append("".join(f" · {p}" for p in parts))
    return notes


def _map_colors(frame: pl.DataFrame, color_by: str, cluster_id: np.ndarray,
                cluster_ids: list[int]) -> np.ndarray | None:
    """Per-point colour values on the figure's colour axis (None: colour by theme, one colour per trace)."""
    if color_by in ("rating", "harmlessness"):
        return frame[color_by].cast(pl.Float32).fill_null(float("nan")).to_numpy()
    if color_by == "success":
        return frame["success"].cast(pl.Int8).fill_null(0).to_numpy()
    if color_by == "cluster":
        slot = {c: i % len(QUALITATIVE) for i, c in enumerate(cluster_ids)}
        return np.array([slot.get(int(c), len(QUALITATIVE)) + 0.5 for c in cluster_id], dtype=np.float32)
    return None


def _map_coloraxis(color_by: str) -> dict | None:
    if color_by == "rating":
        return dict(colorscale="Viridis", cmin=0, cmax=4, colorbar=dict(title="rating"))
    if color_by == "harmlessness":
        return dict(colorscale="RdBu", colorbar=dict(title="harmlessness"))
    if color_by == "success":
        return dict(colorscale=[[0, "#9ecae1"], [0.5, "#9ecae1"], [0.5, "#d62728"], [1, "#d62728"]], cmin=0, cmax=1,
                    colorbar=dict(title="success", tickvals=[0.25, 0.75], ticktext=["no", "yes"]))
    if color_by == "cluster":
        n = len(QUALITATIVE)
        scale = []
        for i, c in enumerate([*QUALITATIVE, NOISE_COLOR]):
            scale += [[i / (n + 1), c], [(i + 1) / (n + 1), c]]
        return dict(colorscale=scale, cmin=0, cmax=n + 1, showscale=False)
    return None


def rate_heatmap(df, row: str = "theme", col: str = "model_type", value: str = "success_rate",
                 title: str | None = None, col_order: Sequence | None = None) -> go.Figure:
    """Heatmap of ``value`` (a 0–1 rate) with ``row`` × ``col`` cells; counts and 95 % CI on hover.

    ``df`` has one row per cell with ``row, col, value, n_attacks, n_success`` and the CI columns of
    ``value``. Cells without data stay empty.
    """
    frame = _frame(df)
    lo, hi = CI_COLUMNS[value]
    row_label = _label_col(frame, row)
    rows = _ordered(frame[row_label].to_list(), ())
    cols = list(col_order) if col_order is not None else _ordered(frame[col].to_list())
    z = np.full((len(rows), len(cols)), np.nan)
    custom = np.full((len(rows), len(cols), 4), np.nan)
    text = [["" for _ in cols] for _ in rows]
    for rec in frame.iter_rows(named=True):
        if rec[row_label] not in rows or rec[col] not in cols:
            continue
        i, j = rows.index(rec[row_label]), cols.index(rec[col])
        z[i, j] = np.nan if rec[value] is None else rec[value]
        custom[i, j] = [rec.get("n_success") or 0, rec.get("n_attacks") or 0,
                        np.nan if rec.get(lo) is None else rec[lo], np.nan if rec.get(hi) is None else rec[hi]]
        if rec[value] is not None:
            text[i][j] = f"{rec[value]:.0%}"
    fig = go.Figure(go.Heatmap(
        z=z, x=[html.escape(str(c)) for c in cols], y=[html.escape(str(r)) for r in rows],
        customdata=custom, text=text, texttemplate="%{text}", zmin=0, zmax=1, colorscale="Reds",
        colorbar=dict(title=METRIC_LABELS.get(value, value), tickformat=".0%"),
        hovertemplate=("%{y} × %{x}<br>" + METRIC_LABELS.get(value, value) + ": %{z:.1%}"
                       "<br>95% CI %{customdata[2]:.1%}–%{customdata[3]:.1%}"
                       "<br>%{customdata[0]:,} of %{customdata[1]:,} attacks<extra></extra>"),
    ))
    fig.update_yaxes(autorange="reversed")
    return _base_layout(fig, title, height=max(300, 40 * len(rows) + 120))


def rate_bars(df, category: str = "theme", value: str = "success_rate", title: str | None = None) -> go.Figure:
    """Horizontal bars of ``value`` per ``category``, sorted, with 95 % CI error bars and n on hover."""
    frame = _frame(df)
    lo, hi = CI_COLUMNS[value]
    label = _label_col(frame, category)
    frame = frame.filter(pl.col(value).is_not_null()).sort(value)
    v = frame[value].to_numpy()
    fig = go.Figure(go.Bar(
        x=v, y=[html.escape(str(t)) for t in frame[label].to_list()], orientation="h",
        error_x=dict(type="data", symmetric=False, array=(frame[hi].to_numpy() - v),
                     arrayminus=(v - frame[lo].to_numpy())),
        customdata=np.column_stack([frame["n_attacks"].to_numpy(), frame[lo].to_numpy(), frame[hi].to_numpy()]),
        hovertemplate=("%{y}<br>" + METRIC_LABELS.get(value, value) + ": %{x:.1%} (95% CI %{customdata[1]:.1%}–"
                       "%{customdata[2]:.1%})<br>n = %{customdata[0]:,}<extra></extra>"),
        marker_color="#E45756",
    ))
    fig.update_xaxes(title=METRIC_LABELS.get(value, value), tickformat=".0%" if value.endswith("_rate") else None)
    return _base_layout(fig, title, height=max(300, 28 * frame.height + 120))


def scaling_chart(df, metric: str = "mean_rating", title: str | None = None) -> go.Figure:
    """The paper's Fig. 1: ``metric`` vs model size (log x), one line per intervention, 95 % CI error bars.

    ``df``: one row per model_type × size with ``model_type, model_size, model_size_b, n_attacks``, ``metric``
    and its CI columns. Rows without a parsed size are left out (the x axis needs a number).
    """
    frame = _frame(df).filter(pl.col("model_size_b").is_not_null() & pl.col(metric).is_not_null())
    lo, hi = CI_COLUMNS[metric]
    number = ".1%" if metric.endswith("_rate") else ".2f"
    fig = go.Figure()
    for i, model_type in enumerate(_ordered(frame["model_type"].to_list())):
        part = frame.filter(pl.col("model_type") == model_type).sort("model_size_b")
        v = part[metric].to_numpy()
        fig.add_trace(go.Scatter(
            x=part["model_size_b"].to_numpy(), y=v, mode="lines+markers", name=html.escape(str(model_type)),
            line=dict(color=QUALITATIVE[i % len(QUALITATIVE)]),
            error_y=dict(type="data", symmetric=False, array=part[hi].to_numpy() - v,
                         arrayminus=v - part[lo].to_numpy()),
            customdata=np.column_stack([part["n_attacks"].to_numpy(), part[lo].to_numpy(), part[hi].to_numpy()]),
            hovertemplate=(html.escape(str(model_type)) + f" %{{x}}B<br>%{{y:{number}}} (95% CI "
                           f"%{{customdata[1]:{number}}}–%{{customdata[2]:{number}}})"
                           "<br>n = %{customdata[0]:,}<extra></extra>"),
        ))
    sizes = sorted(set(frame["model_size_b"].to_list()))
    fig.update_xaxes(type="log", title="Model size (billions of parameters)", tickvals=sizes,
                     ticktext=[f"{s:g}B" for s in sizes])
    fig.update_yaxes(title=METRIC_LABELS.get(metric, metric), tickformat=".0%" if metric.endswith("_rate") else None)
    return _base_layout(fig, title, height=420)


def intervention_effects_chart(df, title: str | None = None) -> go.Figure:
    """Per theme, how much each intervention lowers the success rate relative to plain LM, with 95 % CIs.

    ``df``: one row per theme × model_type with ``reduction, reduction_ci_low, reduction_ci_high``
    (fractions; positive = fewer successful attacks than plain LM). The shaded area left of zero is where
    the intervention does not help; themes with the smallest mean reduction are on top.
    """
    frame = _frame(df).filter(pl.col("reduction").is_not_null())
    label = _label_col(frame, "theme")
    # themes where the interventions help least on top (plotly lists categories bottom-up)
    themes = (frame.group_by(label).agg(pl.col("reduction").mean())
              .sort(["reduction", label], descending=[True, False])[label].to_list())
    fig = go.Figure()
    for i, model_type in enumerate(_ordered(frame["model_type"].to_list())):
        part = frame.filter(pl.col("model_type") == model_type)
        v = part["reduction"].to_numpy()
        n = part["n_attacks"].to_numpy() if "n_attacks" in part.columns else np.full(len(v), np.nan)
        fig.add_trace(go.Scatter(
            x=v, y=[html.escape(str(t)) for t in part[label].to_list()], mode="markers",
            name=html.escape(str(model_type)),
            marker=dict(size=10, color=QUALITATIVE[(i + 1) % len(QUALITATIVE)]),
            error_x=dict(type="data", symmetric=False, array=part["reduction_ci_high"].to_numpy() - v,
                         arrayminus=v - part["reduction_ci_low"].to_numpy()),
            customdata=np.column_stack([part["reduction_ci_low"].to_numpy(), part["reduction_ci_high"].to_numpy(), n]),
            hovertemplate=("%{y}<br>" + html.escape(str(model_type)) + " lowers success by %{x:.1%}"
                           "<br>95% CI %{customdata[0]:.1%}–%{customdata[1]:.1%}"
                           "<br>n = %{customdata[2]:,}<extra></extra>"),
        ))
    fig.add_vrect(x0=-1, x1=0, fillcolor="#E45756", opacity=0.08, line_width=0, annotation_text="no reduction",
                  annotation_position="top left")
    fig.add_vline(x=0, line_color="#888")
    x_lo, x_hi = _diverging_range(frame["reduction_ci_low"], frame["reduction_ci_high"], 0.05)
    fig.update_xaxes(title=METRIC_LABELS["reduction"], tickformat=".0%", range=[x_lo, x_hi])
    fig.update_yaxes(categoryorder="array", categoryarray=[html.escape(str(t)) for t in themes])
    return _base_layout(fig, title, height=max(320, 34 * len(themes) + 140))


PRIORITY_COMPONENTS = COMPONENTS  # the priority score's components (etl.domain), in display order


def priority_contributions(df, components: Sequence[str] = PRIORITY_COMPONENTS) -> pl.DataFrame:
    """Each component's share of the score: ``w_c * c_score / sum(w)`` as columns ``c`` (they sum to ``score``)."""
    frame = _frame(df)
    total = sum(pl.col(f"w_{c}") for c in components)
    return frame.with_columns(
        [(pl.col(f"w_{c}") * pl.col(f"{c}_score") / total).fill_nan(0).fill_null(0).alias(c) for c in components]
    )


def priority_chart(df, components: Sequence[str] = PRIORITY_COMPONENTS, title: str | None = None,
                   name_col: str | None = None) -> go.Figure:
    """Stacked horizontal bars: each priority area's score (0–1) split into its weighted components.

    ``df``: one row per area with ``rank``, ``score``, ``<c>_score`` (0–1) and ``w_<c>`` (weights) for each
    component; best rank on top.
    """
    frame = priority_contributions(df, components).sort("rank")
    name_col = name_col or next(c for c in ("display_name", "cluster_label", "area_name", "theme")
                                if c in frame.columns)
    names = [html.escape(f"#{r} {t}") for r, t in zip(frame["rank"].to_list(), frame[name_col].to_list())]
    fig = go.Figure()
    for i, comp in enumerate(components):
        fig.add_trace(go.Bar(
            x=frame[comp].to_numpy(), y=names, orientation="h", name=comp,
            marker_color=QUALITATIVE[i % len(QUALITATIVE)],
            customdata=np.column_stack([frame[f"{comp}_score"].fill_null(0).to_numpy(), frame[f"w_{comp}"].to_numpy()]),
            hovertemplate=("%{y}<br>" + comp + ": %{x:.3f} of the score (component %{customdata[0]:.2f}, "
                           "weight %{customdata[1]:.2f})<extra></extra>"),
        ))
    fig.update_layout(barmode="stack", legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom", traceorder="normal"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="Priority score (0–1): weighted mean of the components", range=[0, 1])
    return _base_layout(fig, title, height=max(300, 30 * frame.height + 140))


CHANGE_COLORS = {"regression": "#E45756", "improvement": "#54A24B", "no clear change": "#4C78A8"}


def comparison_chart(df, title: str | None = None) -> go.Figure:
    """Diverging dot plot of the change in success rate from scope A to scope B per group (theme, cluster or
    attack method), with the 95 % Newcombe interval (thick) and the Bonferroni-adjusted one (thin).

    ``df``: rows of ``sql/queries/compare_groups.sql`` (``group_name, difference, difference_ci_low/high,
    difference_ci_low/high_adjusted, change, n_judged_a, n_judged_b``); rows without a difference are left out.
    Right of zero (shaded) = attacks succeed more often in B. Largest rises on top.
    """
    frame = _frame(df).filter(pl.col("difference").is_not_null()).sort(["difference", "group_name"])
    names = [html.escape(str(n)) for n in frame["group_name"].to_list()]
    fig = go.Figure()
    for change, color in CHANGE_COLORS.items():
        part = frame.filter(pl.col("change") == change)
        if not part.height:
            continue
        v = part["difference"].to_numpy()
        y = [html.escape(str(n)) for n in part["group_name"].to_list()]
        fig.add_trace(go.Scatter(  # the adjusted interval, thin and light
            x=v, y=y, mode="markers", marker=dict(size=0.1, color=color), showlegend=False, hoverinfo="skip",
            error_x=dict(type="data", symmetric=False, thickness=1, width=0, color=color,
                         array=part["difference_ci_high_adjusted"].to_numpy() - v,
                         arrayminus=v - part["difference_ci_low_adjusted"].to_numpy()),
        ))
        fig.add_trace(go.Scatter(
            x=v, y=y, mode="markers", name=change, marker=dict(size=10, color=color),
            error_x=dict(type="data", symmetric=False, thickness=3, width=4, color=color,
                         array=part["difference_ci_high"].to_numpy() - v,
                         arrayminus=v - part["difference_ci_low"].to_numpy()),
            customdata=np.column_stack([
                part["difference_ci_low"].to_numpy(), part["difference_ci_high"].to_numpy(),
                part["difference_ci_low_adjusted"].to_numpy(), part["difference_ci_high_adjusted"].to_numpy(),
                part["success_rate_a"].to_numpy(), part["success_rate_b"].to_numpy(),
                part["n_judged_a"].to_numpy(), part["n_judged_b"].to_numpy()]),
            hovertemplate=("%{y}<br>success %{customdata[4]:.1%} (n = %{customdata[6]:,}) → "
                           "%{customdata[5]:.1%} (n = %{customdata[7]:,})<br>change %{x:+.1%}"
                           "<br>95% CI %{customdata[0]:+.1%} to %{customdata[1]:+.1%}"
                           "<br>adjusted CI %{customdata[2]:+.1%} to %{customdata[3]:+.1%}<extra></extra>"),
        ))
    fig.add_vrect(x0=0, x1=1, fillcolor="#E45756", opacity=0.06, line_width=0, annotation_text="worse in B",
                  annotation_position="top right")
    fig.add_vline(x=0, line_color="#888")
    x_lo, x_hi = _diverging_range(frame["difference_ci_low_adjusted"], frame["difference_ci_high_adjusted"], 0.02)
    fig.update_xaxes(title="Change in success rate, B − A (points; thick: 95 % CI, thin: adjusted CI)",
                     tickformat="+.0%", range=[x_lo, x_hi])
    fig.update_yaxes(categoryorder="array", categoryarray=names)
    return _base_layout(fig, title, height=max(300, 30 * len(names) + 140))


def _diverging_range(lows: pl.Series, highs: pl.Series, pad: float) -> tuple[float, float]:
    """The x range of a chart of differences around 0: the intervals' extremes plus ``pad``, at least ±0.05."""
    lows, highs = lows.drop_nulls(), highs.drop_nulls()
    return (min(-0.05, (lows.min() if lows.len() else 0) - pad), max(0.05, (highs.max() if highs.len() else 0) + pad))
