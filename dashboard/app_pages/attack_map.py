"""Attack map: the attacks at their 2-D positions (the paper's Fig. 2); select points or a cluster to list them;
editors correct the chosen cluster (name, theme, merge, reviewed).

At most ``MAP_MAX_POINTS`` points go to the browser: beyond that the map draws a sample stratified by cluster
and map area (every cluster represented, small ones whole) and says how many attacks it stands for; the
density layer counts every attack per grid cell. A cluster or a region of the map is re-queried for detail.
Colourings the data cannot support (rating, harmlessness) are not offered, and a line says which column would
enable them. Weak cluster members are drawn smaller; the hover gives each theme's confidence and provenance.
"""

from __future__ import annotations

import dataclasses

import polars as pl
import streamlit as st

from dashboard import charts, data, editing, ui
from dashboard.safety import escape_markdown

EXPLORER_IDS = "explorer_ids"  # session key read by the explorer page
N_SIMILAR = 20  # attacks listed as similar to a selection
COLOR_LABELS = {"rating": "Rating", "theme": "Theme", "cluster": "Cluster", "harmlessness": "Harmlessness",
                "success": "Success", "attack_method": "Attack method", "category": "Source category"}
LAYERS = {"points": "Points", "density": "Density (every attack)"}
REGION_STEPS = 200  # slider steps across the map's extent


def region_picker(filters) -> data.MapRegion | None:
    """Two range sliders over the extent of the attacks in scope; None while they cover all of it."""
    extent = data.map_extent(filters)
    if extent is None:
        return None
    bounds = {}
    with st.expander("Zoom to a region (re-queries the attacks inside it)"):
        for axis in ("x", "y"):
            low, high = extent[f"{axis}0"], extent[f"{axis}1"]
            if low >= high:  # every attack on one line: nothing to narrow on this axis
                bounds[axis] = (low, high)
                continue
            key = f"map_{axis}_range"
            kept = st.session_state.get(key)
            if kept is not None and not (low <= kept[0] <= kept[1] <= high):
                del st.session_state[key]  # the filters changed the extent: start from all of it again
            bounds[axis] = st.slider(f"{axis} range", min_value=low, max_value=high, value=(low, high), key=key,
                                     step=max((high - low) / REGION_STEPS, 1e-6), format="%.2f")
    (x0, x1), (y0, y1) = bounds["x"], bounds["y"]
    if (x0, x1, y0, y1) == (extent["x0"], extent["x1"], extent["y0"], extent["y1"]):
        return None
    return data.MapRegion(x0, x1, y0, y1)


filters, options = ui.page("Attack map", "Each point is one attack, placed by the similarity of its text (UMAP of "
                                         "sentence embeddings). Drag a box or lasso to select attacks.")
editing.show_flash()
region = region_picker(filters)
counts = data.map_counts(filters, region)
total = int(counts["n"].sum()) if counts.height else 0
if total == 0:
    ui.empty(filters, options)
    st.stop()
present = sorted(c for c in counts["cluster_id"].drop_nulls().to_list() if c >= 0)
cluster = st.selectbox("Or choose a cluster", present, index=None, key="map_cluster", placeholder="Choose a cluster",
                       format_func=lambda c: f"{c}: {options.clusters.get(c, '')}",
                       help="Draws that cluster alone, in detail, and lists its attacks.")
# the map's scope: a chosen cluster is drawn alone (all of it when it fits the point budget)
shown = dataclasses.replace(filters, cluster_ids=(cluster,)) if cluster is not None else filters
if cluster is not None:
    total = int(counts.filter(pl.col("cluster_id") == cluster)["n"].sum())
points = data.map_points(shown, region)

layer = st.radio("Show", list(LAYERS), format_func=LAYERS.get, horizontal=True, key="map_layer",
                 help="Points draws up to {:,} attacks; the density layer counts all of them per map cell."
                 .format(data.MAP_MAX_POINTS))
event = None
if layer == "density":
    st.plotly_chart(data.density_figure(shown, region), key="attack_map_density",
                    config={"displaylogo": False, "scrollZoom": True})
else:
    available = {"rating": options.has_rating, "harmlessness": options.harmlessness_range is not None,
                 "success": options.has_success}
    modes = [m for m in charts.MAP_COLOR_MODES if available.get(m, True)]
    modes += [m for m, values in (("attack_method", options.attack_methods), ("category", options.categories))
              if values]
    if not options.has_rating and options.has_success:
        modes.remove("success")
        modes.insert(0, "success")  # the outcome the data has comes first
    color_by = st.radio("Colour by", modes, format_func=COLOR_LABELS.get, horizontal=True, key="map_color")
    for mode in ("rating", "harmlessness"):
        if not available[mode]:
            st.caption(f"Colouring by {mode} is not offered: no attack has one; it needs a `{mode}` column "
                       f"(`--map {mode}=COL`).")
    event = st.plotly_chart(data.map_figure(shown, color_by, region), on_select="rerun",
                            selection_mode=("box", "lasso"), key="attack_map",
                            config={"displaylogo": False, "scrollZoom": True})
ui.caption(total, shown, options)
if points.height < total:
    st.caption(f"Showing {points.height:,} of {total:,} attacks"
               f"{' in this region' if region else ''}: a sample stratified by cluster and map area, so dense "
               "areas stay dense; every cluster is represented and small clusters are whole. Choose a cluster or "
               "zoom to a region for more detail, or show the density of every attack.")
elif layer == "points":
    st.caption(f"Showing all {total:,} attacks{' in this region' if region else ''}.")
if layer == "points":
    st.caption(f"Smaller points are weak members of their cluster (membership strength below "
               f"{charts.WEAK_MEMBER:g}): they were attached to the nearest cluster. The hover gives each theme's "
               "confidence and how it was decided (by the model, from the source's own category, or by an "
               "analyst).")

rows = sorted({int(p["customdata"]) for p in (event.selection.points if event else [])
               if isinstance(p, dict) and p.get("customdata") is not None
               and 0 <= int(p["customdata"]) < points.height})  # a selection made on an earlier figure

if rows:
    chosen = points[rows]
    what = f"{len(rows):,} attacks selected on the map"
elif cluster is not None:
    chosen = points
    what = (f"{total:,} attacks in cluster {cluster}: {options.clusters.get(cluster, '')}"
            + (f" ({points.height:,} drawn and listed)" if points.height < total else ""))
else:
    chosen = None
    what = ""

if chosen is not None:
    st.subheader("Selected attacks")
    st.caption(f"{escape_markdown(what)} · {ui.scope_line(chosen.height, shown, options)}")
    columns = ["attack_id", pl.col("display_name").alias("theme"), "theme_confidence", "theme_source",
               "needs_review", "model", *(["rating"] if options.has_rating else []), "success",
               *(["harmlessness"] if options.harmlessness_range is not None else []), "task_description"]
    st.dataframe(
        chosen.select(columns).head(1000),
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
    if not rows and cluster is not None:
        editing.cluster_form(cluster, options)
