"""Data & runs: build history, row counts, rejected rows with reasons, the analyst corrections the last build could
not carry over, and the harm taxonomy in use."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data, ui
from dashboard.safety import escape_markdown

filters, options = ui.page("Data & runs", "What is in this database and how it was built. Not affected by the filters.")

st.subheader("Build history")
runs = data.runs()
if runs.height == 0:
    st.info("No build is recorded in this database.")
else:
    st.dataframe(
        runs.select("run_id", "status", "build_mode", "started_at", "finished_at", "n_read", "n_loaded", "n_rejected",
                    "n_duplicates", "is_demo", "code_version", "inputs", "parameters", "stage_seconds"),
        hide_index=True, key="runs_table",
    )
    st.caption(f"{runs.height:,} builds, newest first · {escape_markdown(data.database_label())}")

st.subheader("Source categories mapped to no theme")
latest = data.latest_run()
unmapped = ((latest or {}).get("parameters") or {}).get("unmapped_categories") or {}
if not unmapped:
    st.success("Every source harm category in the newest build was mapped to a theme (or the input has none).")
else:
    st.dataframe(
        pl.DataFrame({"category": list(unmapped), "n_attacks": [int(n) for n in unmapped.values()]},
                     schema={"category": pl.String, "n_attacks": pl.Int64}).sort("n_attacks", descending=True),
        hide_index=True, key="unmapped_table",
    )
    st.caption(f"{len(unmapped):,} labels, {sum(int(n) for n in unmapped.values()):,} attacks: their themes come from "
               "the model. Map them with `redteam-risk etl … --category-map FILE` (docs/taxonomy.md).")

st.subheader("Corrections the last build could not carry over")
unplaced = data.unplaced()
if unplaced.height == 0:
    st.success("Every analyst correction applies to this build (or there is none).")
else:
    st.warning(f"{unplaced.height:,} analyst correction{'s' if unplaced.height != 1 else ''} could not be placed on "
               "this build (their attack or cluster is gone). They are kept, not dropped: see the reason per row, "
               "and the History page for who made them.", icon=":material/link_off:")
    st.dataframe(unplaced, hide_index=True, key="unplaced_table")

st.subheader("Rows per table")
st.dataframe(data.table_counts(), hide_index=True, key="counts_table")

st.subheader("Rejected rows")
reasons = data.rejection_reasons()
if reasons.height == 0:
    st.success("No input row was rejected.")
else:
    st.dataframe(reasons, hide_index=True, key="reasons_table")
    rejected = data.rejected_rows()
    st.dataframe(rejected, hide_index=True, key="rejected_table")
    st.caption(f"n = {int(reasons['n_rows'].sum()):,} rejected rows (showing at most {rejected.height:,})")

st.subheader("Harm taxonomy in use")
themes = data.themes()
st.dataframe(
    themes.with_columns(pl.col("exemplars").list.join(" · ")).select("theme", "display_name", "severity",
                                                                     "description", "exemplars"),
    hide_index=True, key="themes_table",
    column_config={"description": st.column_config.TextColumn(width="large")},
)
st.caption(f"{themes.height:,} themes")
