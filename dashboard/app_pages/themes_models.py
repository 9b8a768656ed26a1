"""Themes × models: where attacks succeed, by harm theme and intervention / model size."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, ui

filters, options = ui.page("Themes × models", "Success rate (share of attacks rated at or above the success "
                                              "threshold) per harm theme and model; 95% Wilson CIs on hover.")
themes = data.view("theme_metrics", filters)
n = int(themes["n_attacks"].sum()) if themes.height else 0
if n == 0:
    ui.empty(filters, options)
    st.stop()

st.subheader("Theme × intervention")
cells = data.theme_by_model_type(filters)
st.plotly_chart(charts.rate_heatmap(cells, row="theme", col="model_type"), key="heat_type")
ui.caption(int(cells["n_attacks"].sum()), filters, options)

st.subheader("Theme × model size")
by_size = data.view("theme_model_metrics", filters)
types = [t for t in options.model_types if t in by_size["model_type"].to_list()]
if types:
    model_type = st.selectbox("Intervention", types, key="heat_size_type",
                              index=types.index("rlhf") if "rlhf" in types else 0)
    part = by_size.filter(pl.col("model_type") == model_type)
    sizes = part.sort("model_size_b", nulls_last=True)["model_size"].unique(maintain_order=True).to_list()
    st.plotly_chart(charts.rate_heatmap(part, row="theme", col="model_size", col_order=sizes), key="heat_size")
    ui.caption(int(part["n_attacks"].sum()), filters, options)
else:
    st.info("No attack in scope has a model type.")

st.subheader("Success rate by theme")
st.plotly_chart(charts.rate_bars(themes, "theme"), key="theme_bars")
ui.caption(n, filters, options)

st.subheader("Theme table")
st.dataframe(
    themes.select(
        pl.col("display_name").alias("theme"), "severity", "n_attacks", "share_of_attacks", "success_rate",
        "success_ci_low", "success_ci_high", "mean_rating", "mean_harmlessness", "tail_share",
    ),
    hide_index=True,
    column_config={
        "share_of_attacks": st.column_config.NumberColumn("share", format="percent"),
        "success_rate": st.column_config.NumberColumn("success rate", format="percent"),
        "success_ci_low": st.column_config.NumberColumn("CI low", format="percent"),
        "success_ci_high": st.column_config.NumberColumn("CI high", format="percent"),
        "mean_rating": st.column_config.NumberColumn("mean rating", format="%.2f"),
        "mean_harmlessness": st.column_config.NumberColumn("mean harmlessness", format="%.2f"),
        "tail_share": st.column_config.NumberColumn("harmful tail", format="percent"),
    },
    key="theme_table",
)
ui.caption(n, filters, options)
