"""Themes × models: where attacks succeed, by harm theme (or the source's own category) and intervention or
model, model size, attack method and campaign. Uses what the data has: the model name where there is no
intervention, and says in one line why a view is missing."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, ui

filters, options = ui.page("Themes × models", "Success rate (share of successful attacks) per harm theme and "
                                              "model; 95% Wilson CIs on hover.")
themes = data.view("theme_metrics", filters)
n = int(themes["n_attacks"].sum()) if themes.height else 0
if n == 0:
    ui.empty(filters, options)
    st.stop()

rows = "theme"
if options.categories:
    rows = st.radio("Group attacks by", ("theme", "category"), horizontal=True, key="group_rows",
                    format_func={"theme": "Harm theme", "category": "Source category (the tool's own label)"}.get)
ROW_WORD = {"theme": "Theme", "category": "Source category"}[rows]

if options.has_model_types:
    st.subheader(f"{ROW_WORD} × intervention")
else:
    st.subheader(f"{ROW_WORD} × model")
    st.caption("This data names no intervention (model_type), so each target model is a column.")
cells = data.axis_cells(filters, rows, "model_type")
if cells.filter(pl.col("success_rate").is_not_null()).height:
    st.plotly_chart(data.figure(charts.rate_heatmap, cells, row=rows, col="model_type"), key="heat_type")
    ui.caption(int(cells["n_attacks"].sum()), filters, options)
else:
    ui.why_not(f"{ROW_WORD} × model", "no attack in scope has a success value or a rating",
               "a `success` or `rating` column (`--map success=COL`)")

st.subheader(f"{ROW_WORD} × model size")
if rows != "theme":
    st.caption("Sizes are shown per harm theme; choose “Harm theme” above.")
elif not options.has_sizes:
    ui.why_not("Theme × model size", "no attack has a model size",
               "a `model_size` column (`--map model_size=COL`) or sizes in the model names, e.g. “llama-2-13b”")
elif not options.has_model_types:
    ui.why_not("Theme × model size per intervention", "this data names no intervention; each model above is "
               "already one size", "a `model_type` column (`--map model_type=COL`)")
else:
    by_size = data.view("theme_model_metrics", filters)
    types = [t for t in options.model_types if t in by_size["model_type"].to_list()]
    if types:
        model_type = st.selectbox("Intervention", types, key="heat_size_type",
                                  index=types.index("rlhf") if "rlhf" in types else 0)
        part = by_size.filter(pl.col("model_type") == model_type)
        sizes = part.sort("model_size_b", nulls_last=True)["model_size"].unique(maintain_order=True).to_list()
        st.plotly_chart(data.figure(charts.rate_heatmap, part, row="theme", col="model_size", col_order=sizes),
                        key="heat_size")
        ui.caption(int(part["n_attacks"].sum()), filters, options)
    else:
        st.info("No attack in scope has a model type.")

for col, label, present in (("attack_method", "attack method", options.attack_methods),
                            ("campaign", "campaign", options.campaigns)):
    st.subheader(f"{ROW_WORD} × {label}")
    if not present:
        ui.why_not(f"{ROW_WORD} × {label}", f"no attack has a value in `{col}`",
                   f"that column in the input (`--map {col}=COL`)")
        continue
    part = data.axis_cells(filters, rows, col).filter(pl.col(col).is_not_null())
    if part.filter(pl.col("success_rate").is_not_null()).height == 0:
        st.info(f"No attack in scope has both a value in `{col}` and a success value.")
        continue
    st.plotly_chart(data.figure(charts.rate_heatmap, part, row=rows, col=col), key=f"heat_{col}")
    ui.caption(int(part["n_attacks"].sum()), filters, options)

groups = data.group_metrics(filters, rows)
st.subheader(f"Success rate by {ROW_WORD.lower()}")
if groups.filter(pl.col("success_rate").is_not_null()).height:
    st.plotly_chart(data.figure(charts.rate_bars, groups, rows), key="theme_bars")
    ui.caption(n, filters, options)
else:
    ui.why_not("Success rate", "no attack in scope has a success value or a rating",
               "a `success` or `rating` column (`--map success=COL`)")

st.subheader(f"{ROW_WORD} table")
label_col = pl.col("display_name").alias("theme") if rows == "theme" else pl.col("category")
columns = [label_col, *(["severity"] if rows == "theme" else []), "n_attacks", "share_of_attacks", "success_rate",
           "success_ci_low", "success_ci_high", "needs_review_share"]
if options.has_rating:
    columns.append("mean_rating")
if options.harmlessness_range is not None:
    columns += ["mean_harmlessness", "tail_share"]
st.dataframe(
    groups.select(columns),
    hide_index=True,
    column_config={
        "share_of_attacks": st.column_config.NumberColumn("share", format="percent"),
        "success_rate": st.column_config.NumberColumn("success rate", format="percent"),
        "success_ci_low": st.column_config.NumberColumn("CI low", format="percent"),
        "success_ci_high": st.column_config.NumberColumn("CI high", format="percent"),
        "needs_review_share": st.column_config.NumberColumn(
            "low-confidence themes", format="percent",
            help="Share of attacks whose theme is only the model's best guess (needs review)."),
        "mean_rating": st.column_config.NumberColumn("mean rating", format="%.2f"),
        "mean_harmlessness": st.column_config.NumberColumn("mean harmlessness", format="%.2f"),
        "tail_share": st.column_config.NumberColumn("harmful tail", format="percent"),
    },
    key="theme_table",
)
ui.caption(n, filters, options)
