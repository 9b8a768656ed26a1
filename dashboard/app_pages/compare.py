"""Compare: did the mitigation work? Two scopes A and B on one axis (model, model type, size, campaign, attack
method, a created-at date range, or two published builds of the database), the change in success per theme /
cluster / method with intervals, the paired counts of the attacks run in both, and the newly succeeding attacks
with their transcripts. Numbers: ``Queries.compare``
(docs/metrics.md#comparing-two-scopes), the same call as ``redteam-risk compare`` and the reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import streamlit as st

from dashboard import charts, data, ui
from dashboard import filters as filters_ui
from dashboard.safety import escape_markdown, mask_pii
from sql.compare import PAIR_ON

filters, options = ui.page(
    "Compare",
    "Did the mitigation work? Pick scope A (before) and scope B (after) on one axis; the sidebar's filters apply "
    "to both. B − A > 0 means attacks succeed more often in B. A change is flagged only when its interval, "
    "adjusted for the number of groups compared (Bonferroni), excludes 0.",
)

# axis (a Filters field) -> label and the values the data has; URL: ?cmp_by=…&cmp_a=…&cmp_b=…&cmp_pair=…
AXES = {
    "campaigns": ("Campaign", options.campaigns),
    "models": ("Model", options.models),
    "model_types": ("Model type", options.model_types),
    "model_sizes": ("Model size", options.model_sizes),
    "attack_methods": ("Attack method", options.attack_methods),
}
# two more axes: a created-at range each (cmp_a / cmp_b = [first day, last day], ISO) and two published builds
# of this database (cmp_a / cmp_b = [run id]: the current one or a build kept by `redteam-risk etl --keep-runs`)
DATES, BUILDS = "created", "build"
span = options.created_range
kept = data.snapshots()
current_run = (data.latest_run() or {}).get("run_id")
builds = ([current_run] if current_run else []) + [k["run_id"] for k in kept if k["run_id"] != current_run]
LABELS = {**{k: label for k, (label, _) in AXES.items()}, DATES: "Date range", BUILDS: "Build"}
axes = [k for k, (_, values) in AXES.items() if len(values) >= 2]
if span is not None and span[0].date() < span[1].date():
    axes.append(DATES)
if len(builds) >= 2:
    axes.append(BUILDS)
if not axes:
    st.info("Comparing needs two groups of attacks: this database has only one campaign, model, model type, size "
            "and attack method, no range of creation dates and no earlier build kept. Load red-team results of a "
            "second model or campaign (e.g. `redteam-risk demo --campaigns 2`).", icon=":material/info:")
    st.stop()


def _defaults(by: str) -> tuple[list[str], list[str]]:
    """A and B when nothing (valid) is chosen: the first two values; the earlier and the later half of the
    dates; the newest kept build and the current one."""
    if by == DATES:
        first, last = span[0].date(), span[1].date()
        middle = first + (last - first) // 2
        return [first.isoformat(), middle.isoformat()], [(middle + timedelta(days=1)).isoformat(), last.isoformat()]
    if by == BUILDS:
        return builds[1:2], builds[:1]
    values = AXES[by][1]
    return list(values[:1]), list(values[1:2])


def _valid(by: str, values: list[str]) -> list[str]:
    """The chosen values the axis accepts (the data's values; one build; a from–to pair of ISO dates)."""
    if by == DATES:
        try:
            days = [date.fromisoformat(v) for v in values]
        except ValueError:
            return []
        return values if len(days) == 2 and days[0] <= days[1] else []
    if by == BUILDS:
        return [v for v in values if v in builds][:1]
    present = set(AXES[by][1])
    return [v for v in values if v in present]


URL_KEYS = ("cmp_by", "cmp_a", "cmp_b", "cmp_pair")
if "cmp_by" not in st.session_state:  # first run of this session: start from the URL, else a sensible default
    by = st.query_params.get("cmp_by")
    by = by if by in axes else axes[0]
    st.session_state["cmp_by"] = by
    default_a, default_b = _defaults(by)
    st.session_state["cmp_a"] = _valid(by, st.query_params.get_all("cmp_a")) or default_a
    st.session_state["cmp_b"] = _valid(by, st.query_params.get_all("cmp_b")) or default_b
    pair = st.query_params.get("cmp_pair")
    st.session_state["cmp_pair"] = pair if pair in PAIR_ON else PAIR_ON[0]
elif st.session_state["cmp_by"] not in axes:  # a new build without the axis chosen before
    st.session_state["cmp_by"] = axes[0]
    st.session_state["cmp_a"], st.session_state["cmp_b"] = _defaults(axes[0])
else:  # keep only values the (possibly rebuilt) database still has
    for key, default in zip(("cmp_a", "cmp_b"), _defaults(st.session_state["cmp_by"])):
        values = _valid(st.session_state["cmp_by"], st.session_state.get(key, []))
        st.session_state[key] = values if values or st.session_state["cmp_by"] in AXES else default


def _reset_values() -> None:
    st.session_state["cmp_a"], st.session_state["cmp_b"] = _defaults(st.session_state["cmp_by"])
    for key in [k for k in st.session_state if str(k).startswith(("cmp_a_", "cmp_b_"))]:
        del st.session_state[key]  # the date and build pickers start again from A and B


def _build_name(run_id: str) -> str:
    if run_id == current_run:
        return f"{run_id} (current)"
    when = next((k["published_at"] for k in kept if k["run_id"] == run_id), None)
    return f"{run_id} (kept, built {when:%Y-%m-%d %H:%M} UTC)" if when else run_id


with st.container(border=True):
    c0, c1, c2 = st.columns([1, 2, 2])
    by = c0.selectbox("Compare by", axes, format_func=LABELS.get, key="cmp_by", on_change=_reset_values)
    label = LABELS[by]
    if by in AXES:
        values = AXES[by][1]
        a_values = c1.multiselect(f"A (before): {label.lower()}", values, key="cmp_a")
        b_values = c2.multiselect(f"B (after): {label.lower()}", values, key="cmp_b")
    elif by == BUILDS:
        for side in ("a", "b"):  # the pickers' own keys, started from A and B (the URL's)
            st.session_state.setdefault(f"cmp_{side}_build", st.session_state[f"cmp_{side}"][0])
        a_values = [c1.selectbox("A (before): build", builds, key="cmp_a_build", format_func=_build_name)]
        b_values = [c2.selectbox("B (after): build", builds, key="cmp_b_build", format_func=_build_name)]
    else:
        first, last = span[0].date(), span[1].date()
        picked = {}
        for side, col, word in (("a", c1, "A (before)"), ("b", c2, "B (after)")):
            st.session_state.setdefault(f"cmp_{side}_dates",
                                        tuple(date.fromisoformat(v) for v in st.session_state[f"cmp_{side}"]))
            chosen = col.date_input(f"{word}: created from – to (UTC days)", key=f"cmp_{side}_dates",
                                    min_value=min(first, *st.session_state[f"cmp_{side}_dates"]),
                                    max_value=max(last, *st.session_state[f"cmp_{side}_dates"]))
            picked[side] = [d.isoformat() for d in chosen] if len(chosen) == 2 else []  # mid-pick: one day
        a_values, b_values = picked["a"], picked["b"]
        st.session_state["cmp_a"], st.session_state["cmp_b"] = a_values or st.session_state["cmp_a"], (
            b_values or st.session_state["cmp_b"])
    if by == BUILDS:
        st.session_state["cmp_a"], st.session_state["cmp_b"] = a_values, b_values
    pair_on = st.radio("Pair the same attack in A and B by", PAIR_ON, horizontal=True, key="cmp_pair",
                       format_func={"attack_text": "attack text", "task_description": "intent (task description)"}.get)

wanted = {"cmp_by": by, "cmp_a": list(a_values), "cmp_b": list(b_values), "cmp_pair": pair_on}
for key in URL_KEYS:
    value = wanted[key]
    if st.query_params.get_all(key) != (value if isinstance(value, list) else [value]):
        st.query_params[key] = value

if not a_values or not b_values:
    st.info("Pick at least one value for A and one for B." if by in AXES else
            "Pick the first and the last day of A and of B.", icon=":material/info:")
    st.stop()

run_a = run_b = None
if by == BUILDS:
    if a_values == b_values:
        st.info("Pick two different builds.", icon=":material/info:")
        st.stop()
    scope_a = scope_b = filters
    run_a, run_b = a_values[0], b_values[0]
    st.caption("Each scope reads its own build of this database: themes and the paired attacks compare across "
               "builds; clusters do not (a cluster id belongs to one build).")
elif by == DATES:
    scope_a = replace(filters, created_from=a_values[0], created_to=a_values[1])
    scope_b = replace(filters, created_from=b_values[0], created_to=b_values[1])
else:
    scope_a = replace(filters, **{by: tuple(a_values)})
    scope_b = replace(filters, **{by: tuple(b_values)})
    if getattr(filters, by):
        st.caption(f"The sidebar's {label.lower()} filter is replaced by A's and B's choices here.")
result = data.compare(scope_a, scope_b, pair_on, run_a, run_b)
builds_caption = ("", "") if run_a is None else (f"build {run_a}: ", f"build {run_b}: ")
st.caption(f"A: {escape_markdown(builds_caption[0] + filters_ui.describe(scope_a, options))} · "
           f"B: {escape_markdown(builds_caption[1] + filters_ui.describe(scope_b, options))}")

for note in result.notes:
    st.warning(escape_markdown(note), icon=":material/warning:")
overall = result.overall()
if not overall or overall.get("change") == "not compared":
    st.stop()

# --- headline ------------------------------------------------------------------------------------------------
m = st.columns(4)
m[0].metric("Success in A", f"{overall['success_rate_a']:.1%}", help=f"{overall['n_success_a']:,} of "
            f"{overall['n_judged_a']:,} attacks with a success value")
m[1].metric("Success in B", f"{overall['success_rate_b']:.1%}", help=f"{overall['n_success_b']:,} of "
            f"{overall['n_judged_b']:,} attacks with a success value")
m[2].metric("Change B − A", f"{overall['difference'] * 100:+.1f} pp", delta_color="inverse",
            delta=f"95% CI {overall['difference_ci_low'] * 100:+.1f} to {overall['difference_ci_high'] * 100:+.1f} pp")
verdict = {"regression": "Worse in B", "improvement": "Better in B", "no clear change": "No clear change"}
m[3].metric("Verdict", verdict.get(overall["change"], overall["change"]))

# --- per group ------------------------------------------------------------------------------------------------
st.subheader("Change by group")
grains = {"theme": "Themes"}
if result.grain("cluster").height:  # none across two builds (a cluster id belongs to one build)
    grains["cluster"] = "Clusters"
if result.grain("attack_method").height:
    grains["attack_method"] = "Attack methods"
if st.session_state.get("cmp_grain") not in grains:  # e.g. clusters, chosen before comparing two builds
    st.session_state.pop("cmp_grain", None)
grain = st.radio("Group by", list(grains), format_func=grains.get, horizontal=True, key="cmp_grain")
rows = result.grain(grain)
compared = rows.filter(pl.col("difference").is_not_null())
if compared.height:
    n_compared = int(compared["n_compared"][0])
    st.plotly_chart(data.figure(charts.comparison_chart, compared), key="cmp_chart")
    st.caption(f"{n_compared} {grains[grain].lower()} compared: thick bars are 95 % intervals, thin bars the "
               f"Bonferroni-adjusted ones (each at {1 - 0.05 / n_compared:.2%}). n = {overall['n_judged_a']:,} "
               f"attacks in A, {overall['n_judged_b']:,} in B.")
small = rows.filter(pl.col("is_small") & pl.col("difference").is_not_null()).height
if small:
    st.caption(f"{small} of them have fewer than {int(rows['min_cell_attacks'][0])} judged attacks in A or B: "
               "their intervals are wide.")
missing = rows.filter(pl.col("difference").is_null())
if missing.height:
    st.caption(f"Not compared (no attacks with a success value in one scope): "
               f"{escape_markdown(', '.join(str(n) for n in missing['group_name'].to_list()[:20]))}"
               + (" …" if missing.height > 20 else ""))
st.dataframe(
    rows.select("group_name", "change", "n_success_a", "n_judged_a", "success_rate_a", "n_success_b", "n_judged_b",
                "success_rate_b", "difference", "difference_ci_low", "difference_ci_high",
                "difference_ci_low_adjusted", "difference_ci_high_adjusted"),
    hide_index=True, key="cmp_table",
    column_config={
        "group_name": st.column_config.TextColumn(grains[grain][:-1].lower()),
        **{c: st.column_config.NumberColumn(format="percent") for c in
           ("success_rate_a", "success_rate_b", "difference", "difference_ci_low", "difference_ci_high",
            "difference_ci_low_adjusted", "difference_ci_high_adjusted")},
    },
)

weak = result.new_weaknesses()
st.subheader("New weaknesses")
if weak.height:
    st.dataframe(weak.select("weakness_rank", "grain", "group_name", "success_rate_a", "success_rate_b",
                             "difference", "difference_ci_low_adjusted", "difference_ci_high_adjusted"),
                 hide_index=True, key="cmp_weak",
                 column_config={c: st.column_config.NumberColumn(format="percent") for c in
                                ("success_rate_a", "success_rate_b", "difference", "difference_ci_low_adjusted",
                                 "difference_ci_high_adjusted")})
else:
    st.caption("No theme or cluster got reliably worse in B (none beyond its adjusted interval).")

# --- paired ---------------------------------------------------------------------------------------------------
st.subheader("The same attacks in A and B")
paired = result.paired_overall()
key_words = "intent" if pair_on == "task_description" else "attack text"
if not paired.get("n_pairs"):
    other = "intent" if pair_on == "attack_text" else "attack text"
    st.info(f"No attack appears in both A and B with the same {key_words}, so there is no paired comparison. "
            f"Try pairing by {other}.", icon=":material/info:")
else:
    p = paired.get("mcnemar_p")
    p_text = "–" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")
    st.markdown(f"**{paired['n_pairs']:,}** attacks (same {key_words}) ran in both: "
                f"**{paired['n_newly_succeeding']:,} newly succeed** in B, **{paired['n_newly_failing']:,} newly "
                f"fail**, {paired['n_both_succeed']:,} succeed in both, {paired['n_both_fail']:,} fail in both. "
                f"McNemar's exact test: p = {p_text}.")
    st.dataframe(result.paired.filter(pl.col("n_pairs") > 0).select(
        "group_name", "n_pairs", "n_both_succeed", "n_newly_succeeding", "n_newly_failing", "n_both_fail",
        "mcnemar_p", "mcnemar_p_holm"), hide_index=True, key="cmp_paired",
        column_config={"mcnemar_p": st.column_config.NumberColumn("McNemar p", format="%.4f"),
                       "mcnemar_p_holm": st.column_config.NumberColumn("Holm p (themes)", format="%.4f")})

    newly = result.newly_succeeding
    if newly.height:
        st.subheader("Newly succeeding attacks")
        shown = f"the first {newly.height:,} of " if result.n_newly_succeeding_total > newly.height else ""
        st.caption(f"Fail in A, succeed in B: {shown}{result.n_newly_succeeding_total:,}.")
        st.dataframe(newly.select("theme_name", "pair_key", "model_a", "model_b", "n_attempts_a", "n_attempts_b",
                                  "attack_id_b"), hide_index=True, key="cmp_newly",
                     column_config={"pair_key": st.column_config.TextColumn(key_words, width="large")})
        ids = newly["attack_id_b"].to_list()
        chosen = st.selectbox("Open transcripts", ids, index=None, key="cmp_open",
                              placeholder="Choose an attack to read its transcript in A and in B")
        if chosen is not None:
            row = newly.row(ids.index(chosen), named=True)
            if not st.session_state.get("cmp_reveal"):
                st.warning("Content warning: red-team transcripts can contain offensive, violent, sexual or "
                           "otherwise harmful text.", icon=":material/warning:")
                if st.button("Show transcripts", key="cmp_reveal_button"):
                    st.session_state["cmp_reveal"] = True
                    st.rerun()
            else:
                mask = st.toggle("Mask e-mail addresses and phone numbers", value=True, key="cmp_mask")
                for col, side, attack_id in zip(st.columns(2), ("A (failed)", "B (succeeded)"),
                                                (row["attack_id_a"], row["attack_id_b"])):
                    record = data.attack(attack_id) or {}
                    col.markdown(f"**{side}** · model {escape_markdown(record.get('model') or 'unknown')}")
                    turns = data.turns(attack_id)
                    pairs = (list(zip(turns["speaker"].to_list(), turns["text"].to_list())) if turns.height else
                             [p for p in (("human", record.get("attack_text") or ""),
                                          ("assistant", record.get("response") or "")) if p[1]])
                    with col.container(border=True, key=f"cmp_transcript_{'ab'[side[0] == 'B']}"):
                        for speaker, text in pairs:
                            with st.chat_message("user" if speaker == "human" else "assistant"):
                                st.text(mask_pii(text) if mask else text)

ui.report_downloads(filters, compare=(scope_a, scope_b, pair_on) + ((run_a, run_b) if by == BUILDS else ()))
