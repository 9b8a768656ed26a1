"""Everything a report says, gathered once into one ``ReportContent``; every format renders from it.

The numbers come from ``sql.database.Queries`` (the dashboard's queries, on the caller's connection)
and the charts from ``dashboard.charts`` (the dashboard's figures), so all formats and the dashboard agree.
Units follow docs/schema.md: rates and shares are fractions 0–1, ``rating`` 0–4, ``harmlessness`` the
preference-model score (lower = more harmful), CIs 95 %.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import plotly.graph_objects as go
import polars as pl

from dashboard import charts
from dashboard.safety import mask_pii
from etl import domain
from etl.errors import UserError
from etl.domain import DEFAULT_SUCCESS_THRESHOLD
from sql.compare import Comparison
from sql.database import Queries
from sql.filters import Filters

log = logging.getLogger("redteam_risk.reports")

DEFAULT_TOP = 5
MAX_TOP = 50
EXAMPLES_PER_AREA = 3


@dataclass(frozen=True)
class InputFile:
    """One input file of the build: its path, sha256 (hex) and the records loaded from it."""

    path: str
    sha256: str | None
    n_loaded: int | None


@dataclass(frozen=True)
class Snapshot:
    """Which build of the database the report describes (the newest published row of ``runs``)."""

    run_id: str | None
    started_at: datetime | None
    finished_at: datetime | None
    code_version: str | None
    is_demo: bool
    inputs: tuple[InputFile, ...]
    n_in_database: int  # attacks in the database, before filters
    success_threshold: float | None  # the build's rating threshold for `success` (None = input's own)


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    caption: str
    figure: go.Figure


@dataclass(frozen=True)
class ReportContent:
    """The numbers of one report. Frames are the query results unchanged (the XLSX writes them as they are)."""

    title: str
    generated_at: datetime  # UTC
    filters: Filters
    filters_text: str  # the filters in words (Filters.describe)
    weights: domain.Weights
    top_n: int
    snapshot: Snapshot
    overall: dict[str, Any]  # overall_metrics: one metric block over every attack in scope, n_themes, n_clusters
    priority: pl.DataFrame  # sql.priority.priority_areas: one row per theme, by rank
    theme_metrics: pl.DataFrame
    cluster_metrics: pl.DataFrame
    theme_by_model_type: pl.DataFrame  # metric block per theme × model_type (the heatmap)
    scaling: pl.DataFrame  # scaling_metrics: model_type × model_size (the paper's Fig. 1)
    intervention_effects: pl.DataFrame  # theme × model_type vs plain LM
    examples: dict[str, pl.DataFrame] = field(default_factory=dict)  # theme -> representative attacks
    map_points: pl.DataFrame | None = None  # only for formats with charts: a bounded sample (Queries.map_points)
    map_total: int = 0  # attacks with a map position in scope: what map_points stands for
    clusters: pl.DataFrame | None = None
    attacks: pl.DataFrame | None = None  # only for the XLSX/CSV exports
    has_interventions: bool = True  # some attack in scope names its intervention (model_type); else models stand in
    corrections: dict[str, int] = field(default_factory=dict)  # Queries.corrected_counts: analyst corrections in scope
    mitigations: pl.DataFrame | None = None  # Queries.mitigations: mitigation tracking per priority area
    comparison: Comparison | None = None  # Queries.compare of the two scopes asked for (None = no comparison)

    @property
    def n_attacks(self) -> int:
        return int(self.overall.get("n_attacks") or 0)

    @property
    def is_empty(self) -> bool:
        return self.n_attacks == 0

    @property
    def top(self) -> pl.DataFrame:
        return self.priority.sort("rank").head(self.top_n)

    @property
    def success_definition(self) -> str:
        threshold = self.filters.success_threshold
        if threshold is None:
            threshold = self.snapshot.success_threshold
        if threshold is None:
            return "the success flag given in the input"
        return f"a self-rating of {threshold:g} or more on the 0–4 scale"


def as_weights(weights: domain.Weights | Mapping[str, float] | None) -> domain.Weights:
    """``weights`` as ``etl.domain.Weights``: None = the defaults; a mapping may use ``success`` or
    ``w_success`` keys (missing components keep their default)."""
    if weights is None or isinstance(weights, domain.Weights):
        return weights or domain.Weights()
    values = {}
    for key, value in weights.items():
        name = key.removeprefix("w_")
        if name not in domain.COMPONENTS:
            raise UserError(f"unknown priority weight {key!r}; use {', '.join(domain.COMPONENTS)}")
        if value is not None:
            values[name] = value
    return domain.Weights(**values)


def gather(
    con: duckdb.DuckDBPyConnection,
    filters: Filters | None = None,
    *,
    top: int = DEFAULT_TOP,
    weights: domain.Weights | Mapping[str, float] | None = None,
    with_charts: bool = True,
    with_attacks: bool = False,
    title: str = "Red-team risk report",
    now: datetime | None = None,
    compare: tuple[Filters, Filters, str] | None = None,
) -> ReportContent:
    """Run the report's queries on ``con`` for ``filters`` (None = all attacks).

    ``top``: how many priority areas the summary explains (1–50). ``with_charts`` adds the map points;
    ``with_attacks`` adds every attack in scope (for XLSX/CSV). ``compare``: (scope A, scope B, pair_on) adds
    the comparison section (``Queries.compare``, the Compare page's call; a 5-tuple adds run_a, run_b: two builds).
    """
    if not 1 <= int(top) <= MAX_TOP:
        raise UserError(f"--top must be between 1 and {MAX_TOP}, not {top}")
    t0 = time.perf_counter()
    filters = filters or Filters()
    weights = as_weights(weights)
    q = Queries(con)
    theme_names = dict(q.themes().select("theme", "display_name").iter_rows())
    cluster_frame = q.clusters()
    overall = q.overall(filters)
    priority = q.priority_areas(filters, weights).sort("rank")
    content = ReportContent(
        title=title,
        generated_at=now or datetime.now(UTC),
        filters=filters,
        filters_text=filters.describe(theme_names, dict(cluster_frame.select("cluster_id", "label").iter_rows())),
        weights=weights,
        top_n=int(top),
        snapshot=_snapshot(q),
        overall=overall,
        priority=priority,
        theme_metrics=q.view("theme_metrics", filters),
        cluster_metrics=q.view("cluster_metrics", filters),
        theme_by_model_type=q.theme_by_model_type(filters),
        scaling=q.view("scaling_metrics", filters),
        intervention_effects=q.view("intervention_effects", filters),
        examples={theme: q.examples(filters, theme, EXAMPLES_PER_AREA)
                  for theme in priority.head(int(top))["theme"].to_list()},
        map_points=q.map_points(filters) if with_charts else None,
        map_total=int(q.map_counts(filters)["n"].sum() or 0) if with_charts else 0,
        clusters=cluster_frame,
        attacks=q.export_frame(filters) if with_attacks else None,
        has_interventions=bool(q.in_scope(filters, "count(model_type) > 0 as has_types")["has_types"][0]),
        corrections=q.corrected_counts(filters),
        mitigations=q.mitigations(),
        comparison=q.compare(*compare) if compare is not None else None,
    )
    log.info("reports: gathered %d attacks in scope in %.2f s", content.n_attacks, time.perf_counter() - t0)
    return content


def _snapshot(q: Queries) -> Snapshot:
    run = q.latest_run() or {}
    inputs = []
    for item in run.get("inputs") or []:
        if isinstance(item, Mapping):
            n = item.get("n_loaded")
            inputs.append(InputFile(str(item.get("path", "")), item.get("sha256"), int(n) if n is not None else None))
    params = run.get("parameters") if isinstance(run.get("parameters"), Mapping) else {}
    threshold = params.get("success_threshold", DEFAULT_SUCCESS_THRESHOLD if run else None)
    return Snapshot(
        run_id=run.get("run_id"),
        started_at=run.get("started_at"),
        finished_at=run.get("finished_at"),
        code_version=run.get("code_version"),
        is_demo=bool(run.get("is_demo")),
        inputs=tuple(inputs),
        n_in_database=q.count_attacks(Filters()),  # attacks in the database before any filter
        success_threshold=float(threshold) if threshold is not None else None,
    )


REPORT_TEMPLATE = "plotly"  # plotly's own look; see figures()


def figures(content: ReportContent) -> list[Figure]:
    """The report's charts, drawn by ``dashboard.charts`` from the report's frames. Empty when nothing is in scope.

    Each figure gets the ``plotly`` template explicitly: importing Streamlit makes its own template the
    process default, which only Streamlit's front end completes (outside it: no axis automargin, labels cut).
    """
    if content.is_empty:
        return []
    return [Figure(f.key, f.title, f.caption, f.figure.update_layout(template=REPORT_TEMPLATE))
            for f in _figures(content)]


def _figures(content: ReportContent) -> list[Figure]:
    out = [Figure(
        "priority", "Priority ranking",
        "Each theme's priority score split into its weighted components (success, volume, severity, "
        "resistance); the longest bar is the first area to mitigate.",
        charts.priority_chart(content.priority),
    )]
    if content.theme_by_model_type.filter(pl.col("success_rate").is_not_null()).height:
        # model_type is the model name where the data names no intervention (sql/views/metric_cells.sql)
        by_model = not content.has_interventions
        out.append(Figure(
            "heatmap", "Success rate by theme and " + ("model" if by_model else "intervention"),
            ("Share of successful attacks per theme (rows) and target model (columns)." if by_model else
             "Share of attacks rated successful per theme (rows) and model type (columns), all sizes pooled."),
            charts.rate_heatmap(content.theme_by_model_type, row="theme", col="model_type", value="success_rate"),
        ))
    metric = "mean_rating" if content.scaling["mean_rating"].drop_nulls().len() else "success_rate"
    if content.scaling.filter(pl.col("model_size_b").is_not_null() & pl.col(metric).is_not_null()).height:
        out.append(Figure(
            "scaling", "Attack success by model size and intervention (the paper's Fig. 1)",
            ("Mean self-rated attack success (0–4)" if metric == "mean_rating" else "Success rate")
            + " per model type over model size, with 95 % confidence intervals.",
            charts.scaling_chart(content.scaling, metric=metric),
        ))
    if content.intervention_effects.filter(pl.col("reduction").is_not_null()).height:
        out.append(Figure(
            "effects", "Where mitigation fails",
            "How much each intervention lowers the success rate relative to the plain LM, per theme; points "
            "in the shaded area (or whose interval crosses zero) show no reliable reduction.",
            charts.intervention_effects_chart(content.intervention_effects),
        ))
    if content.map_points is not None and content.map_points.height:
        # The hover shows each attack's description: mask contacts, as the report's appendix does.
        # (in this thread: a Python function inside polars can deadlock the server, see editing.with_mitigations)
        points = content.map_points.with_columns(pl.Series(
            "task_description", [None if t is None else mask_pii(t) for t in content.map_points["task_description"]
                                 .to_list()], dtype=pl.String))
        out.append(Figure(
            "map", "Attack map",
            (f"Every attack in scope ({content.map_points.height:,})"
             if content.map_points.height >= content.map_total else
             f"{content.map_points.height:,} of the {content.map_total:,} attacks in scope (a sample stratified by "
             "cluster and map area; every cluster is represented)")
            + " placed by the similarity of its text and coloured by theme; nearby points are similar attacks.",
            charts.attack_map(points, color_by="theme", clusters=content.clusters),
        ))
    if content.comparison is not None:
        themes = content.comparison.grain("theme").filter(pl.col("difference").is_not_null())
        if themes.height:
            out.append(Figure(
                "comparison", "Comparison: change in success by theme (B − A)",
                "Per theme, the change in success rate from scope A to scope B with its 95 % interval (thick) and "
                "the interval adjusted for the number of themes compared (thin); right of zero = worse in B.",
                charts.comparison_chart(themes),
            ))
    return out
