"""Scaling & interventions: the paper's Fig. 1, and where each intervention fails to lower success."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, ui

filters, options = ui.page("Scaling & interventions", "Means by model size, one line per intervention, with 95% CIs; "
                                                      "then, per theme, how much each intervention lowers the "
                                                      "success rate relative to the plain LM.")
scaling = data.view("scaling_metrics", filters)
n = int(scaling["n_attacks"].sum()) if scaling.height else 0
if n == 0:
    ui.empty(filters, options)
    st.stop()

sized = scaling.filter(pl.col("model_size_b").is_not_null())
if sized.height == 0:
    st.info("No attack in scope has a parsed model size, so there is nothing to plot against size.")
else:
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.scaling_chart(sized, "mean_rating", title="Attack success (mean rating)"),
                        key="scaling_rating")
        ui.caption(int(sized.filter(pl.col("mean_rating").is_not_null())["n_attacks"].sum()), filters, options)
    with right:
        st.plotly_chart(charts.scaling_chart(sized, "mean_harmlessness", title="Harmlessness of the transcript"),
                        key="scaling_harmlessness")
        ui.caption(int(sized.filter(pl.col("mean_harmlessness").is_not_null())["n_attacks"].sum()), filters, options)

st.subheader("Where mitigation fails")
effects = data.view("intervention_effects", filters)
effects = effects.filter(pl.col("reduction").is_not_null())
if effects.height == 0:
    st.info("No theme has attacks on both the plain LM and another intervention under the current filters.")
else:
    st.plotly_chart(charts.intervention_effects_chart(effects), key="effects")
    ui.caption(int(effects["n_attacks"].sum() + effects.unique("theme")["baseline_n_attacks"].sum()), filters, options)
    failing = effects.filter(pl.col("reduction_ci_low") <= 0).sort("reduction")
    if failing.height:
        st.markdown("**No clear reduction** (95% CI of the reduction includes zero or is below it):")
        st.dataframe(
            failing.select(pl.col("display_name").alias("theme"), "model_type", "baseline_success_rate",
                           "success_rate", "reduction", "reduction_ci_low", "reduction_ci_high", "n_attacks"),
            hide_index=True,
            column_config={c: st.column_config.NumberColumn(format="percent") for c in
                           ("baseline_success_rate", "success_rate", "reduction", "reduction_ci_low",
                            "reduction_ci_high")},
            key="failing_table",
        )
