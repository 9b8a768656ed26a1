"""The report as a reader sees it: sections, formatted tables, explained areas, masked examples.

Shared by the HTML, PDF and Markdown renderers, so they say the same thing in the same words. Strings here
are plain text (data text has its controls made visible and, for examples, contacts masked and cut);
each renderer escapes them for its own markup.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dashboard.reports.content import ReportContent
from dashboard.reports.text import fmt, fmt_ci, fmt_int, fmt_num, fmt_pct, readable
from etl import domain
from sql import priority

EXAMPLE_CHARS = 400  # an example attack is cut to this many characters
NAME_CHARS = 120  # theme / cluster names in tables
MAX_CLUSTER_ROWS = 25  # the readable reports list the largest clusters; the XLSX has them all


@dataclass(frozen=True)
class Column:
    label: str
    align: str = ""  # "num" right-aligns


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    intro: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    note: str = ""


@dataclass(frozen=True)
class Component:
    label: str
    text: str


@dataclass(frozen=True)
class Area:
    rank: int
    name: str
    score_text: str
    explanation: str
    components: tuple[Component, ...]
    ci_text: str


@dataclass(frozen=True)
class Example:
    meta: str
    text: str


@dataclass(frozen=True)
class ExampleGroup:
    name: str
    items: tuple[Example, ...]


@dataclass(frozen=True)
class Section:
    id: str
    title: str


@dataclass(frozen=True)
class Note:
    title: str
    text: str


@dataclass(frozen=True)
class InputView:
    path: str
    sha256: str
    n_loaded_text: str


@dataclass(frozen=True)
class SnapshotView:
    run_id: str
    finished_at_text: str
    code_version: str
    is_demo: bool
    inputs: tuple[InputView, ...]
    n_loaded_text: str


@dataclass(frozen=True)
class FigureView:
    key: str
    title: str
    caption: str


@dataclass(frozen=True)
class Layout:
    title: str
    generated_at_text: str
    snapshot: SnapshotView
    filters_text: tuple[str, ...]
    weights_text: str
    n_attacks_text: str
    is_empty: bool
    summary_text: str
    top: tuple[Area, ...]
    figures: tuple[FigureView, ...]
    tables: tuple[Table, ...]
    methodology: tuple[Note, ...]
    examples: tuple[ExampleGroup, ...]
    example_chars: int
    footer_text: str

    @property
    def sections(self) -> tuple[Section, ...]:
        """Top-level sections in order (for the table of contents)."""
        out = [Section("summary", "Executive summary")]
        if self.figures:
            out.append(Section("charts", "Charts"))
        out += [Section(t.id, t.title) for t in self.tables]
        out += [Section("methodology", "Methodology and caveats"),
                Section("appendix", "Appendix: representative attacks")]
        return tuple(out)


COMPONENT_LABELS = {
    "success": "Success (Wilson low)",
    "volume": "Volume (share)",
    "severity": "Severity",
    "resistance": "Resistance (strongest model)",
}


def _name(row: dict, key: str = "display_name", fallback: str = "theme") -> str:
    return readable(row.get(key) or row.get(fallback) or "unknown", NAME_CHARS)


def layout(c: ReportContent, figure_keys: dict[str, tuple[str, str]] | None = None) -> Layout:
    """The display model of ``c``. ``figure_keys``: key -> (title, caption) of the charts the renderer shows."""
    snap = c.snapshot
    snapshot = SnapshotView(
        run_id=readable(snap.run_id or "unknown"),
        finished_at_text=_when(snap.finished_at or snap.started_at),
        code_version=readable(snap.code_version or ""),
        is_demo=snap.is_demo,
        inputs=tuple(InputView(readable(f.path), readable(f.sha256 or "unknown"), fmt_int(f.n_loaded))
                     for f in snap.inputs),
        n_loaded_text=fmt_int(snap.n_in_database),
    )
    weights = c.weights
    total_w = sum(getattr(weights, n) for n in domain.COMPONENTS)
    weights_text = " · ".join(f"{n} {getattr(weights, n) / total_w:.0%}" for n in domain.COMPONENTS)
    return Layout(
        title=c.title,
        generated_at_text=_when(c.generated_at),
        snapshot=snapshot,
        filters_text=(readable(c.filters_text),),
        weights_text=weights_text,
        n_attacks_text=fmt_int(c.n_attacks),
        is_empty=c.is_empty,
        summary_text=_summary(c),
        top=tuple(_area(r) for r in c.top.iter_rows(named=True)),
        figures=tuple(FigureView(k, t, cap) for k, (t, cap) in (figure_keys or {}).items()),
        tables=_tables(c),
        methodology=_methodology(c),
        examples=_examples(c),
        example_chars=EXAMPLE_CHARS,
        footer_text=(f"redteam-risk · build {snapshot.run_id} · generated {_when(c.generated_at)} · "
                     "numbers from the same queries as the dashboard for the filters above."),
    )


def _when(value) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if value.tzinfo is not None else "")


def _summary(c: ReportContent) -> str:
    o = c.overall
    text = (f"{fmt_int(c.n_attacks)} attacks are in scope; {fmt_pct(o.get('success_rate'))} of them succeeded "
            f"(95 % CI {fmt_ci(o.get('success_ci_low'), o.get('success_ci_high'), 'pct')}), where success means "
            f"{c.success_definition}.")
    review = o.get("needs_review_share")
    if review:
        text += (f" {fmt_pct(review)} of them have a low-confidence theme (needs review): the model's confidence "
                 "was below the review threshold, so their theme is only a best guess.")
    n_top = min(c.top_n, c.priority.height)
    if n_top:
        text += (f" The {n_top} highest-priority areas of {c.priority.height} themes are below, each with the "
                 "components of its score (0–1, weighted as listed in the snapshot) and why it ranks there.")
        shaky = sum(priority.rests_on_low_confidence(r) for r in c.top.iter_rows(named=True))
        if shaky:
            text += (f" Caution: {shaky} of them rest mostly on low-confidence themes; review those themes "
                     "before acting on their rank.")
    return text + " " + corrections_text(c.corrections)


def corrections_text(counts: dict[str, int]) -> str:
    """One sentence on the analyst corrections in scope (``Queries.corrected_counts``)."""
    if not counts.get("total"):
        return ("No value in scope is an analyst correction: every theme, success label and cluster is as the "
                "build inferred it.")
    parts = [f"{fmt_int(counts.get('theme', 0))} themes", f"{fmt_int(counts.get('success', 0))} success verdicts",
             f"{fmt_int(counts.get('cluster', 0))} attacks of renamed, re-themed or merged clusters",
             f"{fmt_int(counts.get('excluded', 0))} attacks excluded from the metrics"]
    return (f"{fmt_int(counts['total'])} values in scope are analyst corrections and are used in every number "
            f"here ({', '.join(parts)}).")


def _area(r: dict) -> Area:
    comps = tuple(Component(COMPONENT_LABELS[n], fmt_num(r.get(f"{n}_score"), 2)) for n in domain.COMPONENTS)
    comps += (Component("Attacks", fmt_int(r.get("n_attacks"))),
              Component("Success rate", fmt_pct(r.get("success_rate"))))
    ci = (f"Success rate {fmt_pct(r.get('success_rate'))}, 95 % Wilson CI "
          f"{fmt_ci(r.get('success_ci_low'), r.get('success_ci_high'), 'pct')}")
    if r.get("resistance_cell"):
        ci += (f"; on the strongest model cell ({readable(r['resistance_cell'])}) "
               f"{fmt_pct(r.get('resistance_success_rate'))} "
               f"{fmt_ci(r.get('resistance_ci_low'), r.get('resistance_ci_high'), 'pct')}")
    return Area(
        rank=int(r["rank"]),
        name=_name(r),
        score_text=fmt_num(r.get("score"), 2),
        explanation=_explanation(r),
        components=comps,
        ci_text=ci + ".",
    )


def _explanation(r: dict) -> str:
    """The area's one-sentence explanation without the leading "<name>: " (the heading says it)."""
    text = str(r.get("explanation") or "")
    for key in ("display_name", "area_name", "theme"):
        prefix = f"{r.get(key)}: "
        if r.get(key) and text.startswith(prefix):
            text = text[len(prefix):]
            text = text[:1].upper() + text[1:]
            break
    return readable(text)


def _table(id_: str, title: str, intro: str, spec: list[tuple[str, str, object]], frame: pl.DataFrame,
           note: str = "") -> Table:
    """``spec``: (label, kind, column or callable(row) -> str); kinds as ``text.fmt`` plus ``ci_pct``."""
    columns = tuple(Column(label, "num" if kind in ("int", "pct", "num", "num1", "num3", "ci") else "")
                    for label, kind, _ in spec)
    rows = []
    for r in frame.iter_rows(named=True):
        cells = []
        for _label, kind, getter in spec:
            if callable(getter):
                cells.append(getter(r))
            elif kind == "text":
                cells.append(readable(r.get(getter), NAME_CHARS))
            else:
                cells.append(fmt(r.get(getter), kind))
        rows.append(Row(tuple(cells)))
    return Table(id_, title, intro, columns, tuple(rows), note)


def _pct_ci(value: str, low: str, high: str, points: bool = False):
    """A rate and its interval in one cell: ``42.1 %`` and on a second line ``[33.7–51.1]``; with
    ``points``, a difference of rates in percentage points (``21.7 pp``)."""
    def cell(r: dict) -> str:
        text = fmt_pct(r.get(value))
        if points and text != "–":
            text = text[:-1] + "pp"  # "21.7 pp"
        return _with_ci(text, r.get(low), r.get(high), "pct")

    return cell


def _num_ci(value: str, low: str, high: str, digits: int = 2):
    return lambda r: _with_ci(fmt_num(r.get(value), digits), r.get(low), r.get(high), "num", digits)


def _with_ci(text: str, low, high, kind: str, digits: int = 2) -> str:
    if text == "–" or low is None or high is None:
        return text
    if kind == "pct":
        return f"{text}\n[{float(low) * 100:.1f}–{float(high) * 100:.1f}]"
    return f"{text}\n[{fmt_num(low, digits)}, {fmt_num(high, digits)}]"


def _tables(c: ReportContent) -> tuple[Table, ...]:
    if c.is_empty:
        return ()
    ci_note = "Brackets: 95 % interval (Wilson for rates, t for means, Newcombe for reductions)."
    priority = _table(
        "priority-table", "Priority areas",
        "Every theme in scope, ranked by the priority score: the weighted mean of four components, each 0–1.",
        [("Rank", "int", "rank"), ("Theme", "text", "display_name"), ("Score", "num", "score"),
         ("Success", "num", "success_score"), ("Volume", "num", "volume_score"),
         ("Severity", "num", "severity_score"), ("Resistance", "num", "resistance_score"),
         ("Attacks", "int", "n_attacks"),
         ("Success rate [95 % CI]", "ci", _pct_ci("success_rate", "success_ci_low", "success_ci_high")),
         ("Low-confidence themes", "pct", "needs_review_share")],
        c.priority.sort("rank"),
        note=ci_note + " Low-confidence themes: share of the area's attacks whose theme is only the model's best "
                       f"guess (needs review); above {domain.LOW_CONFIDENCE_SHARE:.0%} the ranking rests mostly on "
                       "guesses.",
    )
    themes = _table(
        "theme-metrics", "Theme metrics",
        "One row per theme in scope: mean rating is the 0–4 self-rating, mean harmlessness the preference-"
        "model score (lower = more harmful), tail share the share of attacks with harmlessness below "
        f"{fmt_num(c.overall.get('tail_threshold'), 1)}.",
        [("Theme", "text", "display_name"), ("Severity", "int", "severity"), ("Attacks", "int", "n_attacks"),
         ("Share", "pct", "share_of_attacks"),
         ("Success rate [95 % CI]", "ci", _pct_ci("success_rate", "success_ci_low", "success_ci_high")),
         ("Mean rating [95 % CI]", "ci", _num_ci("mean_rating", "mean_rating_ci_low", "mean_rating_ci_high")),
         ("Mean harmlessness [95 % CI]", "ci",
          _num_ci("mean_harmlessness", "harmlessness_ci_low", "harmlessness_ci_high")),
         ("Tail share", "pct", "tail_share")],
        c.theme_metrics.sort("n_attacks", "theme", descending=[True, False]), note=ci_note,
    )
    clusters_all = c.cluster_metrics.sort("n_attacks", "cluster_id", descending=[True, False])
    shown = clusters_all.head(MAX_CLUSTER_ROWS)
    clusters = _table(
        "cluster-metrics", "Cluster metrics",
        "Groups of similar attacks found by clustering their text, largest first; “unclustered” collects "
        "attacks that fit no group.",
        [("Cluster", "text", "cluster_label"), ("Theme", "text", lambda r: readable(
            r.get("theme_display_name") or r.get("theme") or "", NAME_CHARS)),
         ("Attacks", "int", "n_attacks"), ("Share", "pct", "share_of_attacks"),
         ("Success rate [95 % CI]", "ci", _pct_ci("success_rate", "success_ci_low", "success_ci_high")),
         ("Mean rating", "num", "mean_rating"), ("Mean harmlessness", "num", "mean_harmlessness")],
        shown,
        note=(f"The {shown.height} largest of {clusters_all.height} clusters; the XLSX report lists them all."
              if clusters_all.height > shown.height else ""),
    )
    effects = c.intervention_effects
    rank = dict(c.priority.select("theme", "rank").iter_rows())
    effects = effects.with_columns(pl.col("theme").replace_strict(rank, default=10**6, return_dtype=pl.Int64)
                                   .alias("_rank")).sort("_rank", "theme", "model_type")
    failing = effects.filter(~pl.col("is_reduction_significant").fill_null(False))
    intro = ("The theme × intervention pairs where the intervention shows no reliable reduction of the success "
             "rate against the plain LM: the 95 % interval of the reduction (plain LM − intervention success "
             "rate, in percentage points) includes zero or lies below it. Themes in priority order.")
    if not effects.height:
        intro = "No theme has attacks on both the plain LM and another intervention in this selection."
    elif not failing.height:
        intro = (f"Every one of the {effects.height} theme × intervention pairs shows a reliable reduction of the "
                 "success rate against the plain LM.")
    mitigation = _table(
        "mitigation", "Where mitigation fails", intro,
        [("Theme", "text", "display_name"), ("Intervention", "text", "model_type"),
         ("Plain LM success", "pct", "baseline_success_rate"), ("Success", "pct", "success_rate"),
         ("Reduction [95 % CI]", "ci", _pct_ci("reduction", "reduction_ci_low", "reduction_ci_high", points=True)),
         ("Attacks", "int", "n_attacks")],
        failing,
        note=(f"{failing.height} of {effects.height} pairs; the chart shows all of them and the XLSX report "
              "lists their numbers." if failing.height else ""),
    )
    scaling = _table(
        "scaling-table", "Model type × size",
        "The numbers behind the scaling chart (the paper's Fig. 1).",
        [("Model type", "text", "model_type"), ("Size", "text", "model_size"), ("Attacks", "int", "n_attacks"),
         ("Mean rating [95 % CI]", "ci", _num_ci("mean_rating", "mean_rating_ci_low", "mean_rating_ci_high")),
         ("Success rate [95 % CI]", "ci", _pct_ci("success_rate", "success_ci_low", "success_ci_high")),
         ("Mean harmlessness", "num", "mean_harmlessness")],
        c.scaling.sort("model_type", "model_size_b", nulls_last=True), note=ci_note,
    )
    return priority, themes, clusters, mitigation, scaling, _mitigation_status(c)


def _mitigation_status(c: ReportContent) -> Table:
    """The analysts' mitigation tracking per priority area (annotations store), themes first."""
    frame = c.mitigations if c.mitigations is not None else pl.DataFrame(
        schema={k: pl.String for k in ("kind", "key", "area_name", "status", "owner", "due_date", "note", "link")})
    return _table(
        "mitigation-status", "Mitigation status",
        ("What the team decided for each priority area it tracks: status, owner, due date, note and link, as "
         "recorded in the dashboard." if frame.height else "No priority area has a recorded mitigation status."),
        [("Kind", "text", "kind"), ("Area", "text", lambda r: readable(r.get("area_name") or r.get("key"), NAME_CHARS)),
         ("Key", "text", "key"), ("Status", "text", lambda r: readable((r.get("status") or "").replace("_", " "))),
         ("Owner", "text", "owner"), ("Due", "text", "due_date"), ("Note", "text", "note"), ("Link", "text", "link")],
        frame.sort("kind", "key", descending=[True, False]),
    )


def _methodology(c: ReportContent) -> tuple[Note, ...]:
    notes = [
        Note("Two measures of success",
             f"An attack counts as successful when it has {c.success_definition}: the red-team member's own "
             "judgement of whether the model did what they tried to make it do. Separately, a preference model "
             "scores each transcript's harmlessness (lower = more harmful). The two disagree often — a member may "
             "rate a mild answer as a success, and a harmful answer may be rated low — so read the success rate "
             "and mean harmlessness side by side rather than as one truth."),
        Note("Confidence intervals",
             "Rates (success rate, share on the strongest model) carry 95 % Wilson score intervals, which stay "
             "inside 0–1 and behave for small counts; means (rating, harmlessness) carry t intervals; "
             "reductions against the plain LM carry Newcombe's hybrid score interval. A wide interval means few "
             "attacks: a theme with 12 attacks can rank high by chance."),
        Note("How the priority score is built",
             "Each theme gets four components scaled to 0–1 within the selection: success (the Wilson lower "
             "bound, so small uncertain themes are not over-ranked), volume (share of attacks), severity (the "
             "taxonomy's 1–5 rating) and resistance (success that persists on the strongest model cell). The "
             f"score is their weighted mean with the weights {_weights_words(c)}."),
        Note("What clustering can and cannot say",
             "Clusters group attacks whose text is similar (sentence embeddings, UMAP, HDBSCAN). They are a way to "
             "browse and to spot families of attacks, not ground truth: cluster boundaries shift with parameters "
             "and data, labels are generated from keywords, and “unclustered” attacks are kept and counted, "
             "never dropped. Themes come from matching attacks to a taxonomy (or from the source's own category) "
             "and carry a confidence; attacks below the review threshold are flagged “needs review” and counted "
             "in each area's low-confidence share; those below the confidence floor fall into “other”."),
        Note("Scope of these numbers",
             "All numbers are computed over the filtered selection shown in the snapshot, with duplicate records "
             "counted once. Themes and clusters with few attacks have wide intervals; differences between model "
             "types are observational (different red-team members attacked different models)."),
    ]
    if c.snapshot.is_demo:
        notes.append(Note("Synthetic data",
                          "This report was built from demonstration data. Its numbers show what the product "
                          "does, not the risk of any real model."))
    return tuple(notes)


def _weights_words(c: ReportContent) -> str:
    w = c.weights
    total = sum(getattr(w, n) for n in domain.COMPONENTS)
    return ", ".join(f"{n} {getattr(w, n) / total:.0%}" for n in domain.COMPONENTS)


def _examples(c: ReportContent) -> tuple[ExampleGroup, ...]:
    groups = []
    for r in c.top.iter_rows(named=True):
        frame = c.examples.get(r["theme"])
        items = []
        if frame is not None:
            for ex in frame.iter_rows(named=True):
                text = ex.get("task_description") or ex.get("attack_text") or ""
                rating = "no rating" if ex.get("rating") is None else f"rating {ex['rating'] + 0.0:g}/4"  # no "-0"
                if ex.get("rating") is None and ex.get("success") is not None:
                    rating = "succeeded" if ex["success"] else "did not succeed"
                harm = "" if ex.get("harmlessness") is None else f" · harmlessness {ex['harmlessness']:.2f}"
                label = ex.get("cluster_label")
                meta = (f"{readable(ex.get('model') or 'unknown model', 60)} · {rating}{harm}"
                        + (f" · cluster “{readable(label, 60)}”" if label else ""))
                items.append(Example(meta, readable(text, EXAMPLE_CHARS, mask=True)))
        groups.append(ExampleGroup(f"{r['rank']}. {_name(r)}", tuple(items)))
    return tuple(groups)
