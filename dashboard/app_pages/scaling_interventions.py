"""Scaling & interventions: the paper's Fig. 1, and where each intervention fails to lower success.

On data without the paper's grid (tool outputs: a model name and a success flag), success rate is plotted
against the sizes parsed from the model names, one point per model, and the views that need an
intervention, a rating or a harmlessness score say so in one line.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, ui

filters, options = ui.page("Scaling & interventions", "Means by model size, one line per intervention (or one "
                                                      "point per model when the data names no intervention), "
                                                      "with 95% CIs; then, per theme, how much each intervention "
                                                      "lowers the success rate relative to the plain LM.")
scaling = data.view("scaling_metrics", filters)
n = int(scaling["n_attacks"].sum()) if scaling.height else 0
if n == 0:
    ui.empty(filters, options)
    st.stop()

sized = scaling.filter(pl.col("model_size_b").is_not_null())
if sized.height == 0:
    ui.why_not("Scaling", "no attack in scope has a model size",
               "a `model_size` column (`--map model_size=COL`) or sizes in the model names, e.g. “vicuna-13b”")
else:
    if not options.has_model_types:
        st.caption("This data names no intervention: each point is one model, at the size parsed from its name.")
    has_rating = sized["mean_rating"].drop_nulls().len() > 0
    metric = "mean_rating" if has_rating else "success_rate"
    left, right = st.columns(2)
    with left:
        if sized[metric].drop_nulls().len():
            title = "Attack success (mean rating)" if has_rating else "Attack success rate"
            st.plotly_chart(data.figure(charts.scaling_chart, sized, metric, title=title), key="scaling_rating")
            ui.caption(int(sized.filter(pl.col(metric).is_not_null())["n_attacks"].sum()), filters, options)
        else:
            ui.why_not("Attack success by size", "no sized attack has a rating or a success value",
                       "a `rating` or `success` column (`--map success=COL`)")
    with right:
        if sized["mean_harmlessness"].drop_nulls().len():
            st.plotly_chart(data.figure(charts.scaling_chart, sized, "mean_harmlessness",
                                        title="Harmlessness of the transcript"),
                            key="scaling_harmlessness")
            ui.caption(int(sized.filter(pl.col("mean_harmlessness").is_not_null())["n_attacks"].sum()), filters,
                       options)
        else:
            ui.why_not("Harmlessness by size", "no attack in scope has a harmlessness score",
                       "a preference-model score column (`--map harmlessness=COL`)")

st.subheader("Where mitigation fails")
if not options.has_model_types:
    ui.why_not("Intervention effects", "this data names no intervention (model_type), so there is nothing to "
               "compare with the plain LM", "a `model_type` column with a “plain lm” baseline "
               "(`--map model_type=COL`)")
    st.stop()
effects = data.view("intervention_effects", filters)
effects = effects.filter(pl.col("reduction").is_not_null())
if effects.height == 0:
    st.info("No theme has attacks on both the plain LM and another intervention under the current filters.")
else:
    st.plotly_chart(data.figure(charts.intervention_effects_chart, effects), key="effects")
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
