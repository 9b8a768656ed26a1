"""The comparison of two scopes (``sql.compare.Comparison``) as readers see it: the same tables for the
reports (HTML, PDF, Markdown through ``layout``; XLSX sheets; CSV), the CLI's ``redteam-risk compare`` and
the dashboard's Compare page (which renders the frames these tables are made from). Strings are plain text;
each renderer escapes them for its own markup.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from dashboard.reports.layout import Table, _pct_ci, _table
from dashboard.reports.text import fmt_int, readable
from sql.compare import Comparison, format_scope

NEWLY_SUCCEEDING_ROWS = 50  # the readable reports list this many newly succeeding attacks
PAIR_KEY_CHARS = 300
CHANGE_WORDS = {"regression": "Regression", "improvement": "Improvement", "no clear change": "No clear change",
                "not compared": "Not compared"}


def scope_line(label: str, filters, description: str | None = None) -> str:
    """``Scope A: model=x (Models: x)``."""
    text = format_scope(filters) or "every attack"
    return f"Scope {label}: {text}" + (f" ({description})" if description else "")


def builds_line(result: Comparison) -> str:
    """`` · builds: A = run X, B = run Y`` when two builds are compared, else empty."""
    if result.run_a is None and result.run_b is None:
        return ""
    return f" · builds: A = run {result.run_a}, B = run {result.run_b}"


def _p(value: Any) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _small(groups: pl.DataFrame) -> int:
    """The ``is_small`` threshold (metric_settings.min_cell_attacks, carried by every compare_groups row)."""
    return int(groups["min_cell_attacks"][0]) if groups.height else 30


def _change(r: dict) -> str:
    word = CHANGE_WORDS.get(r.get("change"), str(r.get("change")))
    return f"{word} (small)" if r.get("is_small") and r.get("change") != "not compared" else word


def _n(side: str):
    return lambda r: f"{fmt_int(r.get(f'n_success_{side}'))} / {fmt_int(r.get(f'n_judged_{side}'))}"


def _group_spec(name_label: str) -> list[tuple[str, str, object]]:
    return [
        (name_label, "text", "group_name"),
        ("A successes / judged", "", _n("a")),
        ("A success [95 % CI]", "ci", _pct_ci("success_rate_a", "success_ci_low_a", "success_ci_high_a")),
        ("B successes / judged", "", _n("b")),
        ("B success [95 % CI]", "ci", _pct_ci("success_rate_b", "success_ci_low_b", "success_ci_high_b")),
        ("B − A [95 % CI]", "ci", _pct_ci("difference", "difference_ci_low", "difference_ci_high", points=True)),
        ("B − A [adjusted CI]", "ci", _pct_ci("difference", "difference_ci_low_adjusted",
                                             "difference_ci_high_adjusted", points=True)),
        ("Change", "", _change),
    ]


def comparison_tables(result: Comparison) -> tuple[Table, ...]:
    """The comparison section: overall and per theme, per attack method, new weaknesses, paired counts and the
    newly succeeding attacks."""
    groups = result.groups
    theme_rows = result.grain("theme")
    m = theme_rows["n_compared"][0] if theme_rows.height else 0
    adjusted = (f"Adjusted CI: Bonferroni over the {m} themes compared (each at {1 - 0.05 / max(m, 1):.2%})."
                if m else "")
    intro = (f"{scope_line('A', result.a)} · {scope_line('B', result.b)}{builds_line(result)}. B − A > 0: "
             "attacks succeed more often "
             "in B. A change is flagged when its adjusted interval excludes 0. " + " ".join(result.notes))
    tables = [
        _table("compare-themes", "Comparison: success by theme", intro, _group_spec("Theme"),
               pl.concat([groups.filter(pl.col("grain") == "all"), theme_rows]),
               note=adjusted + f" (small): fewer than {_small(groups)} judged attacks in a scope."),
    ]
    methods = result.grain("attack_method")
    if methods.height:
        tables.append(_table("compare-methods", "Comparison: success by attack method",
                             "Each attack method's success in A and B (Bonferroni over the methods compared).",
                             _group_spec("Attack method"), methods))
    weak = result.new_weaknesses()
    tables.append(_table(
        "compare-weaknesses", "New weaknesses",
        "Themes and clusters whose success rose beyond the adjusted interval, surest first.",
        [("Rank", "int", "weakness_rank"), ("Kind", "text", "grain"), *_group_spec("Theme or cluster")], weak))
    paired = result.paired
    p_all = result.paired_overall()
    paired_intro = (f"Attacks present in both scopes (same {'intent' if result.pair_on == 'task_description' else 'attack text'}"
                    f"): {fmt_int(p_all.get('n_pairs'))} pairs. McNemar's exact test on the discordant pairs; "
                    "Holm-adjusted over the themes.")
    tables.append(_table(
        "compare-paired", "Paired comparison", paired_intro,
        [("Group", "text", "group_name"), ("Pairs", "int", "n_pairs"), ("Both succeed", "int", "n_both_succeed"),
         ("Newly succeeding", "int", "n_newly_succeeding"), ("Newly failing", "int", "n_newly_failing"),
         ("Both fail", "int", "n_both_fail"), ("McNemar p", "", lambda r: _p(r.get("mcnemar_p"))),
         ("Holm p", "", lambda r: _p(r.get("mcnemar_p_holm")))],
        paired.filter(pl.col("n_pairs") > 0)))
    newly = result.newly_succeeding.head(NEWLY_SUCCEEDING_ROWS)
    tables.append(_table(
        "compare-newly", "Newly succeeding attacks",
        f"{fmt_int(result.n_newly_succeeding_total)} attacks fail in A and succeed in B"
        + (f"; the first {newly.height} by theme" if result.n_newly_succeeding_total > newly.height else "")
        + ".",
        [("Theme", "text", "theme_name"), ("Attack", "", lambda r: readable(r.get("pair_key"), PAIR_KEY_CHARS,
                                                                             mask=True)),
         ("Model in B", "text", "model_b"), ("Attack id in B", "text", "attack_id_b")],
        newly))
    return tuple(tables)


def comparison_frame(result: Comparison) -> pl.DataFrame:
    """One flat table of the comparison (CSV): every compared group with its paired counts where it has any."""
    paired = result.paired.select(
        "grain", "theme", "attack_method", "n_pairs", "n_both_succeed", "n_newly_succeeding", "n_newly_failing",
        "n_both_fail", "mcnemar_p", "mcnemar_p_holm")
    groups = result.groups.with_columns(
        pl.lit(format_scope(result.a) or "every attack").alias("scope_a"),
        pl.lit(format_scope(result.b) or "every attack").alias("scope_b"),
        pl.lit(result.pair_on).alias("pair_on"))
    return groups.join(paired, on=["grain", "theme", "attack_method"], how="left", nulls_equal=True)


def comparison_sheets(result: Comparison) -> dict[str, pl.DataFrame]:
    """The XLSX sheets of the comparison (sheet name -> frame, as the query layer returned them)."""
    return {"Compare groups": result.groups, "Compare paired": result.paired,
            "Newly succeeding": result.newly_succeeding}


def comparison_json(result: Comparison) -> str:
    """The comparison as JSON: scopes, notes, groups, paired counts, newly succeeding attacks."""
    def rows(frame: pl.DataFrame) -> list[dict]:
        return frame.to_dicts()

    return json.dumps({
        "scope_a": format_scope(result.a), "scope_b": format_scope(result.b), "pair_on": result.pair_on,
        "run_a": result.run_a, "run_b": result.run_b,
        "notes": list(result.notes),
        "regressions": rows(result.regressions().select("grain", "theme", "group_name", "difference",
                                                        "difference_ci_low_adjusted")),
        "groups": rows(result.groups), "paired": rows(result.paired),
        "newly_succeeding": rows(result.newly_succeeding),
        "n_newly_succeeding": result.n_newly_succeeding_total,
    }, ensure_ascii=False, indent=2, default=str)


def comparison_markdown(result: Comparison) -> str:
    """The comparison section as Markdown (the report's renderer)."""
    from dashboard.reports.markdown import _table as markdown_table

    lines: list[str] = []
    for t in comparison_tables(result):
        lines += markdown_table(t)
    return "\n".join(lines) + "\n"
