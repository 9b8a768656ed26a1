"""Priority areas: the documented score of ``sql/queries/priority_areas.sql`` plus explanations in words.

The score is computed in SQL (so the dashboard can re-rank live over any filters and weights); this module
binds the weights (``etl.domain.Weights``), adds the one-sentence explanation of each area and compares two
areas. The build fills the ``priority_areas`` / ``cluster_priority_areas`` tables from the same functions
(``etl.metrics.materialize``). Definitions: docs/metrics.md. Rates and shares are fractions 0–1; the score
and its components are 0–1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import polars as pl

import sql
from etl.domain import COMPONENTS, LOW_CONFIDENCE_SHARE, Weights
from etl.errors import UserError
from sql.filters import Filters

QUERY = "priority_areas"
_COMPONENT_WORDS = {"success": "success (CI lower bound)", "volume": "volume", "severity": "severity",
                    "resistance": "resistance"}
_NEGLIGIBLE = 0.01  # component-score gaps below this are not called a lead in compare_areas


def priority_areas(
    con: duckdb.DuckDBPyConnection, filters: Filters | None = None, weights: Weights | None = None
) -> pl.DataFrame:
    """Themes ranked by priority over the attacks in ``filters`` (None = all), one row per theme with attacks.

    Columns: those of the ``priority_areas`` table (theme, rank, display_name, score, the four ``*_score``
    components, the ``w_*`` weights, the theme's numbers, the ``resistance_*`` numbers on the strongest
    model cell, explanation), sorted by rank.
    """
    return theme_rows(scored(con, filters, weights))


def theme_rows(scored: pl.DataFrame) -> pl.DataFrame:
    areas = scored.filter(pl.col("area_kind") == "theme")
    return (
        areas.rename({"area_name": "display_name"})
        .drop("area_kind", "cluster_id")
        .select("theme", "rank", "display_name", pl.exclude("theme", "rank", "display_name"))
    )


def cluster_priority_areas(
    con: duckdb.DuckDBPyConnection, filters: Filters | None = None, weights: Weights | None = None
) -> pl.DataFrame:
    """Clusters (except −1, unclustered) ranked by priority; columns of the ``cluster_priority_areas`` table."""
    return cluster_rows(scored(con, filters, weights))


def cluster_rows(scored: pl.DataFrame) -> pl.DataFrame:
    areas = scored.filter(pl.col("area_kind") == "cluster")
    return (
        areas.rename({"area_name": "cluster_label"})
        .drop("area_kind")
        .select("cluster_id", "rank", "cluster_label", "theme",
                pl.exclude("cluster_id", "rank", "cluster_label", "theme"))
    )


def scored(con: duckdb.DuckDBPyConnection, filters: Filters | None, weights: Weights | None) -> pl.DataFrame:
    """Theme and cluster areas together (``area_kind`` "theme" | "cluster"), ranked, with explanations."""
    weights = weights or Weights()
    # Always the scoped form, even without filters: its inlined views are evaluated once per query,
    # where the catalog views would recompute metric_cells for every reference (about 2x slower).
    frame = sql.query(con, QUERY, kind="queries", filters=filters or Filters(), params=weights.params())
    explanations = [explain(row) for row in frame.iter_rows(named=True)]
    return frame.with_columns(pl.Series("explanation", explanations, dtype=pl.String)).sort("area_kind", "rank")


def explain(area: Mapping[str, Any]) -> str:
    """One sentence from an area's numbers, e.g. "Misinformation & conspiracy: 41% success (95% CI 38–44%),
    12% of attacks, severity 4/5, still succeeds on rlhf 52B (22% of 40 attacks)".

    ``area`` is a row of the priority query/table (``area_name``, ``display_name`` or ``cluster_label`` names it).
    """
    parts = [
        _success_text(area),
        f"{_pct(area.get('share_of_attacks'))} of attacks" if area.get("share_of_attacks") is not None else None,
        f"severity {area['severity']}/5" if area.get("severity") is not None else "severity unknown",
        _resistance_text(area),
    ]
    text = f"{_name(area)}: " + ", ".join(p for p in parts if p)
    warning = low_confidence_warning(area)
    return f"{text}. {warning}" if warning else text


def rests_on_low_confidence(area: Mapping[str, Any]) -> bool:
    """True when more than ``LOW_CONFIDENCE_SHARE`` of the area's attacks have a theme that needs review."""
    share = area.get("needs_review_share")
    return share is not None and share > LOW_CONFIDENCE_SHARE


def low_confidence_warning(area: Mapping[str, Any]) -> str | None:
    """The warning sentence for an area resting mostly on low-confidence themes, else None."""
    if not rests_on_low_confidence(area):
        return None
    return (f"Caution: {_pct(area['needs_review_share'])} of its attacks have a low-confidence theme "
            "(needs review), so this ranking rests mostly on guesses")


def compare_areas(df: pl.DataFrame, a: str | int, b: str | int) -> str:
    """Why area ``a`` ranks above (or below) area ``b``, in one sentence with the numbers behind it.

    ``df`` is the output of ``priority_areas`` / ``cluster_priority_areas`` (or the tables of the same
    name); ``a`` and ``b`` are theme ids, display names, cluster ids or cluster labels (case-insensitive).
    """
    row_a, row_b = _find(df, a), _find(df, b)
    name_a, name_b = _name(row_a), _name(row_b)
    if _key(row_a) == _key(row_b):
        return f"{name_a} and {name_b} are the same area"
    if row_a["rank"] > row_b["rank"]:
        return compare_areas(df, b, a)
    head = (
        f"{name_a} ranks above {name_b} (#{row_a['rank']} vs #{row_b['rank']}, "
        f"score {row_a['score']:.2f} vs {row_b['score']:.2f})"
    )
    success = f"{_pct(row_a.get('success_rate'))} vs {_pct(row_b.get('success_rate'))} success"
    reasons = [f"{success} (95% CI {_ci(row_a)} vs {_ci(row_b)})"]
    share_a, share_b = row_a.get("share_of_attacks"), row_b.get("share_of_attacks")
    if share_a is not None and share_b is not None:
        ratio = f"{_times(share_a / share_b)} the volume" if share_b > 0 else "more volume"
        reasons.append(f"{ratio} ({_pct(share_a)} vs {_pct(share_b)} of attacks)")
    if row_a.get("severity") is not None and row_b.get("severity") is not None:
        reasons.append(f"severity {row_a['severity']}/5 vs {row_b['severity']}/5")
    cell = row_a.get("resistance_cell")
    if cell and (row_a.get("resistance_n_attacks") or row_b.get("resistance_n_attacks")):
        rate_a, rate_b = row_a.get("resistance_success_rate"), row_b.get("resistance_success_rate")
        if (row_a.get("resistance_n_success") or 0) > 0 and (row_a.get("resistance_ci_low") or 0) > (
            row_b.get("resistance_ci_low") or 0
        ):
            reasons.append(f"and it still succeeds on {cell} ({_pct(rate_a)} vs {_pct(rate_b)})")
        else:
            reasons.append(f"on {cell} {_pct(rate_a)} vs {_pct(rate_b)} success")
    gaps = {c: row_a[f"{c}_score"] - row_b[f"{c}_score"] for c in COMPONENTS if row_a[f"w_{c}"] > 0}
    leads = [_COMPONENT_WORDS[c] for c, gap in gaps.items() if gap > _NEGLIGIBLE]
    trails = [_COMPONENT_WORDS[c] for c, gap in gaps.items() if gap < -_NEGLIGIBLE]
    summary = f"; it leads on {_and(leads)}" if leads else ""
    if trails:
        summary += f"{' and' if leads else '; it'} trails on {_and(trails)}"
    return f"{head}: {', '.join(reasons)}{summary}"


def _find(df: pl.DataFrame, wanted: str | int) -> dict[str, Any]:
    needle = str(wanted).strip().lower()
    columns = ("cluster_id", "cluster_label") if "cluster_label" in df.columns else ("theme", "display_name")
    for row in df.iter_rows(named=True):
        if any(row.get(c) is not None and str(row[c]).lower() == needle for c in columns):
            return row
    raise UserError(f"there is no priority area named {str(wanted)[:80]!r}")


def _key(row: Mapping[str, Any]) -> tuple:
    return (row.get("cluster_id"), row.get("theme"))


def _name(area: Mapping[str, Any]) -> str:
    for column in ("area_name", "display_name", "cluster_label", "theme"):
        if area.get(column):
            return str(area[column])
    return f"cluster {area.get('cluster_id')}"


def _success_text(area: Mapping[str, Any]) -> str:
    if area.get("success_rate") is None:
        return "success unknown"
    return f"{_pct(area['success_rate'])} success (95% CI {_ci(area)})"


def _resistance_text(area: Mapping[str, Any]) -> str | None:
    cell = area.get("resistance_cell")
    if not cell:
        return None
    n = area.get("resistance_n_attacks") or 0
    k = area.get("resistance_n_success")
    if n == 0:
        return f"not attacked on {cell}"
    if k is None:
        return None
    if k == 0:
        return f"never succeeded on {cell} (0 of {n} attacks)"
    return f"still succeeds on {cell} ({_pct(area.get('resistance_success_rate'))} of {n} attacks)"


def _ci(area: Mapping[str, Any]) -> str:
    low, high = area.get("success_ci_low"), area.get("success_ci_high")
    if low is None or high is None:
        return "n/a"
    return f"{_pct(low)[:-1]}–{_pct(high)}"


def _pct(value: float | None) -> str:
    """A fraction as a percentage: whole percent, one decimal below 1 % (so 0.4 % does not read as 0 %)."""
    if value is None:
        return "n/a"
    percent = 100 * value
    if percent == 0 or percent >= 1:
        return f"{percent:.0f}%"
    return f"{percent:.1f}%"


def _times(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
