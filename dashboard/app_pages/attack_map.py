"""Attack map: every attack at its 2-D position (the paper's Fig. 2); select points or a cluster to list them."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, ui
from dashboard.safety import escape_markdown

EXPLORER_IDS = "explorer_ids"  # session key read by the explorer page
COLOR_LABELS = {"rating": "Rating", "theme": "Theme", "cluster": "Cluster", "harmlessness": "Harmlessness",
                "success": "Success"}

filters, options = ui.page("Attack map", "Each point is one attack, placed by the similarity of its text (UMAP of "
                                         "sentence embeddings). Drag a box or lasso to select attacks.")
points = data.map_points(filters)
if points.height == 0:
    ui.empty(filters, options)
    st.stop()

color_by = st.radio("Colour by", charts.MAP_COLOR_MODES, format_func=COLOR_LABELS.get, horizontal=True, key="map_color")
fig = data.map_figure(filters, color_by)
event = st.plotly_chart(fig, on_select="rerun", selection_mode=("box", "lasso"), key="attack_map",
                        config={"displaylogo": False, "scrollZoom": True})
ui.caption(points.height, filters, options)

rows = sorted({int(p["customdata"]) for p in (event.selection.points if event else [])
               if isinstance(p, dict) and p.get("customdata") is not None})
present = sorted(c for c in points["cluster_id"].drop_nulls().unique().to_list() if c >= 0)
cluster = st.selectbox("Or choose a cluster", present, index=None, key="map_cluster", placeholder="Choose a cluster",
                       format_func=lambda c: f"{c}: {options.clusters.get(c, '')}")

if rows:
    chosen = points[rows]
    what = f"{len(rows):,} attacks selected on the map"
elif cluster is not None:
    chosen = points.filter(pl.col("cluster_id") == cluster)
    what = f"{chosen.height:,} attacks in cluster {cluster}: {options.clusters.get(cluster, '')}"
else:
    chosen = None
    what = ""

if chosen is not None:
    st.subheader("Selected attacks")
    st.caption(f"{escape_markdown(what)} · {ui.scope_line(chosen.height, filters, options)}")
    st.dataframe(
        chosen.select("attack_id", pl.col("display_name").alias("theme"), "model", "rating", "harmlessness",
                      "task_description").head(1000),
        hide_index=True, key="map_selection_table",
    )
    if st.button(f"Open these {chosen.height:,} attacks in the explorer", icon=":material/table_rows:"):
        st.session_state[EXPLORER_IDS] = tuple(chosen["attack_id"].to_list())
        st.session_state["explorer_ids_label"] = what
        st.switch_page("app_pages/explorer.py")
