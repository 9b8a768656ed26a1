"""Overview: headline numbers (with the share of low-confidence themes), the top 5 priority areas with their
explanations and mitigation status, the mitigation tracking of every theme (editable by editors), and
provenance."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data, editing, ui
from dashboard.safety import markdown_link
from sql import priority

filters, options = ui.page("Overview", "Red-team attacks on language models, turned into ranked mitigation priorities.")
editing.show_flash()

run = data.latest_run() or {}
if run.get("is_demo"):
    st.warning("This database holds the **synthetic demo dataset**: numbers illustrate the dashboard and are not "
               "real red-team results.", icon=":material/science:")

head = data.overall(filters)
n = head.get("n_attacks") or 0
if n == 0:
    ui.empty(filters, options)
    st.stop()

cols = st.columns(5)
cols[0].metric("Attacks", f"{n:,}", help="Attacks in scope (records flagged as duplicates are counted once).")
rate = head.get("success_rate")
if rate is None:
    cols[1].metric("Success rate", "n/a", help="No attack in scope has a rating or a success value.")
    ui.why_not("Success rate", "no attack in scope has a rating or a success value",
               "a `success` or `rating` column (`--map success=COL`)")
else:
    cols[1].metric("Success rate", f"{rate:.1%}",
                   help=f"{head['n_success']:,} successful attacks; 95% Wilson CI "
                        f"{head['success_ci_low']:.1%}–{head['success_ci_high']:.1%}.")
    cols[1].caption(f"95% CI {head['success_ci_low']:.1%}–{head['success_ci_high']:.1%}")
cols[2].metric("Clusters", f"{head['n_clusters']:,}", help="Clusters with attacks in scope (unclustered excluded).")
cols[3].metric("Themes", f"{head['n_themes']:,}", help="Harm themes with attacks in scope.")
review_share = head.get("needs_review_share")
cols[4].metric("Low-confidence themes", "n/a" if review_share is None else f"{review_share:.1%}",
               help="Share of attacks in scope whose theme needs review: the model's confidence was below the "
                    "review threshold, so the theme is only a best guess. Filter them with “Theme confidence”.")
if review_share:
    cols[4].caption(f"{head['n_needs_review']:,} attacks need review")
ui.caption(n, filters, options)

st.subheader("Top 5 priority areas")
areas = data.priority_areas(filters)
if areas.height == 0:
    ui.empty(filters, options, "priority areas")
else:
    areas = editing.with_mitigations(areas, "theme")
    for row in areas.head(5).iter_rows(named=True):
        with st.container(border=True):
            st.markdown(f"**#{row['rank']}** · score {row['score']:.2f}"
                        + (" · :orange[mostly low-confidence themes]" if priority.rests_on_low_confidence(row) else ""))
            st.text(row["explanation"])
            st.text(editing.mitigation_line(row))
            if row["link"]:
                st.markdown(markdown_link(row["link"]))
    st.caption(f"{ui.scope_line(n, filters, options)} · default weights; change them on the Priorities page.")
    st.page_link("app_pages/priorities.py", label="All priority areas and weights", icon=":material/arrow_forward:")

    st.subheader("Mitigation tracking")
    tracked = editing.status_filter(areas, "overview_status")
    st.dataframe(tracked.select("rank", pl.col("display_name").alias("theme"), *editing.SHOWN_COLUMNS),
                 hide_index=True, key="overview_mitigations", column_config=editing.MITIGATION_CONFIG)
    st.caption(f"{tracked.height:,} of {areas.height:,} themes · areas nobody has tracked yet are open · "
               f"{ui.scope_line(n, filters, options)}")
    editing.mitigation_form(areas, "theme", "display_name", "overview_mitigation")

st.subheader("Provenance")
if not run:
    st.info("This database has no build record.")
else:
    prov = st.columns(3)
    prov[0].markdown("**Run id**")
    prov[0].code(str(run["run_id"]), language=None)
    prov[1].markdown("**Built**")
    prov[1].text(f"{run.get('finished_at') or run.get('started_at')} (code {run.get('code_version') or '?'})")
    prov[2].markdown("**Loaded**")
    prov[2].text(f"{run.get('n_loaded') or 0:,} of {run.get('n_read') or 0:,} records read; "
                 f"{run.get('n_rejected') or 0:,} rejected; {run.get('n_duplicates') or 0:,} duplicates")
    inputs = run.get("inputs") or []  # parsed by the query layer
    if inputs:
        st.markdown("**Input files**")
        st.dataframe([{k: v for k, v in item.items()} for item in inputs if isinstance(item, dict)],
                     hide_index=True)

ui.report_downloads(filters)
