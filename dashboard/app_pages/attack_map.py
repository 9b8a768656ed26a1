"""Attack map: every attack at its 2-D position (the paper's Fig. 2); select points or a cluster to list them.

Colourings the data cannot support (rating, harmlessness) are not offered, and a line says which column would
enable them. Weak cluster members are drawn smaller; the hover gives each theme's confidence and provenance.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, ui
from dashboard.safety import escape_markdown

EXPLORER_IDS = "explorer_ids"  # session key read by the explorer page
N_SIMILAR = 20  # attacks listed as similar to a selection
COLOR_LABELS = {"rating": "Rating", "theme": "Theme", "cluster": "Cluster", "harmlessness": "Harmlessness",
                "success": "Success", "attack_method": "Attack method", "category": "Source category"}

filters, options = ui.page("Attack map", "Each point is one attack, placed by the similarity of its text (UMAP of "
                                         "sentence embeddings). Drag a box or lasso to select attacks.")
points = data.map_points(filters)
if points.height == 0:
    ui.empty(filters, options)
    st.stop()

available = {"rating": options.has_rating, "harmlessness": options.harmlessness_range is not None,
             "success": options.has_success}
modes = [m for m in charts.MAP_COLOR_MODES if available.get(m, True)]
modes += [m for m, values in (("attack_method", options.attack_methods), ("category", options.categories)) if values]
if not options.has_rating and options.has_success:
    modes.remove("success")
    modes.insert(0, "success")  # the outcome the data has comes first
color_by = st.radio("Colour by", modes, format_func=COLOR_LABELS.get, horizontal=True, key="map_color")
for mode in ("rating", "harmlessness"):
    if not available[mode]:
        st.caption(f"Colouring by {mode} is not offered: no attack has one; it needs a `{mode}` column "
                   f"(`--map {mode}=COL`).")
fig = data.map_figure(filters, color_by)
event = st.plotly_chart(fig, on_select="rerun", selection_mode=("box", "lasso"), key="attack_map",
                        config={"displaylogo": False, "scrollZoom": True})
ui.caption(points.height, filters, options)
st.caption(f"Smaller points are weak members of their cluster (membership strength below {charts.WEAK_MEMBER:g}): "
           "they were attached to the nearest cluster. The hover gives each theme's confidence and how it was "
           "decided (by the model, from the source's own category, or by an analyst).")

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
    shown = ["attack_id", pl.col("display_name").alias("theme"), "theme_confidence", "theme_source", "needs_review",
             "model", *(["rating"] if options.has_rating else []), "success",
             *(["harmlessness"] if options.harmlessness_range is not None else []), "task_description"]
    st.dataframe(
        chosen.select(shown).head(1000),
        hide_index=True, key="map_selection_table",
    )
    if st.button(f"Open these {chosen.height:,} attacks in the explorer", icon=":material/table_rows:"):
        st.session_state[EXPLORER_IDS] = tuple(chosen["attack_id"].to_list())
        st.session_state["explorer_ids_label"] = what
        st.switch_page("app_pages/explorer.py")

    if st.toggle(f"Show the attacks most similar to these {chosen.height:,}", key="map_similar",
                 help="Nearest the centroid of the selected attacks' sentence embeddings (cosine similarity), from "
                      "the whole database, whatever the filters; the selected attacks themselves are left out."):
        similar = data.similar_to_selection(tuple(chosen["attack_id"].to_list()), N_SIMILAR)
        if similar.height == 0:
            st.caption("No similar attacks: this database stores no embeddings for these attacks. Rebuild it with "
                       "`redteam-risk etl` to get them.")
        else:
            shown = ["similarity", "attack_id", "theme", "model", *(["rating"] if options.has_rating else []),
                     "success", "task_description"]
            st.dataframe(similar.select(shown), hide_index=True, key="map_similar_table",
                         column_config={"similarity": st.column_config.NumberColumn("similarity", format="%.3f")})
            if st.button(f"Open these {similar.height:,} similar attacks in the explorer", key="map_similar_open",
                         icon=":material/join_inner:"):
                st.session_state[EXPLORER_IDS] = tuple(similar["attack_id"].to_list())
                st.session_state["explorer_ids_label"] = f"the {similar.height} attacks most similar to {what}"
                st.switch_page("app_pages/explorer.py")
