"""Priorities: ranked areas with every score component and mitigation status (filterable), live weights, a
"why is X above Y" comparison; editors track mitigations and correct clusters here."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import auth, charts, data, editing, ui
from dashboard.safety import escape_markdown
from etl import domain
from etl.domain import Weights
from etl.errors import UserError
from sql import priority

filters, options = ui.page(
    "Priorities",
    "Score = weighted mean of four 0–1 components: success (Wilson lower bound of the success rate), volume "
    "(share of attacks), severity (taxonomy 1–5) and resistance (success on the strongest model cell). "
    "Move the weights to re-rank.",
)
editing.show_flash()

defaults = Weights()
with st.container(border=True):
    st.markdown("**Weights**")
    cols = st.columns(4)
    chosen = {c: cols[i].slider(c, 0.0, 1.0, float(getattr(defaults, c)), step=0.05, key=f"w_{c}")
              for i, c in enumerate(charts.PRIORITY_COMPONENTS)}
try:
    weights = Weights(**chosen)
except UserError as exc:
    st.warning(f"{exc}; using the default weights.")
    weights = defaults

kind = st.radio("Areas", ("theme", "cluster"), format_func={"theme": "Themes", "cluster": "Clusters"}.get,
                horizontal=True, key="priority_kind")
areas = data.priority_areas(filters, weights, kind)
if areas.height == 0:
    ui.empty(filters, options, "priority areas")
    st.stop()

name_col = "display_name" if kind == "theme" else "cluster_label"
n = int(areas["n_attacks"].sum())
shaky = [r for r in areas.sort("rank").iter_rows(named=True) if priority.rests_on_low_confidence(r)]
if shaky:
    listed = "; ".join(f"#{r['rank']} {r[name_col]} ({r['needs_review_share']:.0%})" for r in shaky[:10])
    more = f" and {len(shaky) - 10} more" if len(shaky) > 10 else ""
    st.warning(f"{len(shaky)} ranked area(s) rest mostly on low-confidence themes (more than "
               f"{domain.LOW_CONFIDENCE_SHARE:.0%} of their attacks need review): {escape_markdown(listed)}{more}. "
               "Review their themes before acting on the ranking.", icon=":material/warning:")
st.plotly_chart(data.figure(charts.priority_chart, areas, name_col=name_col), key="priority_chart")
ui.caption(n, filters, options)

st.subheader("Ranking")
component_cols = [f"{c}_score" for c in charts.PRIORITY_COMPONENTS]
areas = editing.with_mitigations(areas, kind)
by_status = editing.status_filter(areas, f"priority_status_{kind}")
table = by_status.select(
    "rank", pl.col(name_col).alias("area"), "score", *component_cols, "n_attacks", "success_rate", "success_ci_low",
    "success_ci_high", "share_of_attacks", "needs_review_share", "severity", "resistance_cell",
    "resistance_success_rate", *editing.SHOWN_COLUMNS, "explanation",
)
st.dataframe(
    table, hide_index=True, key="priority_table",
    column_config={
        "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0, format="%.2f"),
        **{c: st.column_config.NumberColumn(c.replace("_score", ""), format="%.2f") for c in component_cols},
        **{c: st.column_config.NumberColumn(format="percent") for c in
           ("success_rate", "success_ci_low", "success_ci_high", "share_of_attacks", "resistance_success_rate")},
        "needs_review_share": st.column_config.NumberColumn(
            "low-confidence themes", format="percent",
            help="Share of the area's attacks whose theme is only the model's best guess (needs review)."),
        "explanation": st.column_config.TextColumn(width="large"),
        **editing.MITIGATION_CONFIG,
    },
)
ui.caption(n, filters, options)
if by_status.height < areas.height:
    st.caption(f"Showing {by_status.height:,} of {areas.height:,} areas (mitigation status filter).")
editing.mitigation_form(areas, kind, name_col, f"priority_mitigation_{kind}")
if kind == "cluster":
    ranked = areas.sort("rank").filter(pl.col("cluster_id") >= 0)
    labels = dict(zip(ranked["cluster_id"].to_list(), ranked["cluster_label"].to_list()))
    if labels and auth.can_edit():
        cluster = st.selectbox("Correct a cluster", list(labels), index=None, key="priority_cluster",
                               placeholder="Choose a cluster", format_func=lambda c: f"{c}: {labels[c]}")
        if cluster is not None:
            editing.cluster_form(cluster, options)

st.subheader("Why is one area above another?")
names = areas.sort("rank")[name_col].to_list()
if len(names) < 2:
    st.info("Only one area is in scope; there is nothing to compare.")
else:
    left, right = st.columns(2)
    a = left.selectbox("Area", names, index=0, key="compare_a")
    b = right.selectbox("compared with", names, index=1, key="compare_b")
    key_col = "theme" if kind == "theme" else "cluster_id"
    key_a = areas.filter(pl.col(name_col) == a)[key_col][0]
    key_b = areas.filter(pl.col(name_col) == b)[key_col][0]
    st.text(data.compare_areas(areas, key_a, key_b))

ui.report_downloads(filters, weights)
