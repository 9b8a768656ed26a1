"""The query layer: every question the dashboard, the reports and the CLI ask of a published database.

No Streamlit, no plotly, no pipeline stage: ``duckdb``, ``polars``, the SQL of this package and
``etl.domain`` / ``etl.store`` only, so ``import sql.database`` is cheap and any process can ask.

    con = open_read_only(path)              # or any DuckDB connection / cursor holding a published database
    q = Queries(con)
    q.overall(Filters(model_types=("rlhf",)))   # filters in (bound parameters), polars frames / values out

``dashboard.data`` wraps ``Queries`` in Streamlit's caches; the reports (``dashboard.reports``) and the CLI
call it directly, so all of them show the same numbers. Frames are polars in the units of docs/schema.md;
rates are fractions 0–1.

Query-time overlays (the analyst corrections of ``annotations/``, loaded by ``annotations.overlay`` when a
``Queries`` is made) have one place to plug in: the ``source_attacks`` CTE of
``sql/queries/attacks_in_scope.sql`` (and, for cluster labels and themes, ``sql/queries/clusters_in_scope.sql``).
Every filtered question (``Queries.in_scope``, the metric views through ``sql.scoped``, the priority score)
reads attacks through it; only whole-database facts
(``filter_options``, ``attack``, the tables of the Data & runs page) read the ``attacks`` table itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

import sql
from annotations import overlay
from annotations.store import MITIGATION_SCHEMA
from etl import store
from etl.domain import ANTHROPIC_MODEL_TYPES, TABLES, Weights
from etl.errors import UserError
from sql import compare as comparing
from sql import priority
from sql.filters import Filters
from sql.similar import similar as nearest

log = logging.getLogger("redteam_risk.queries")

BUILD_HINT = ("Build one with `redteam-risk etl INPUT --db PATH` (or `make run` for the demo) and start the "
              "dashboard with `redteam-risk dashboard --db PATH`.")
REQUIRED_TABLES = TABLES
EXPORT_COLUMNS = (
    "attack_id", "model", "model_type", "model_size", "rating", "success", "harmlessness", "theme",
    "theme_confidence", "theme_source", "needs_review", "category", "attack_method", "campaign",
    "cluster_id", "cluster_label", "cluster_strength", "task_description", "attack_text", "red_team_member_id",
    "is_upworker", "tags", "source_file", "source_row",
)
TABLE_COLUMNS = (
    "attack_id", "theme", "theme_confidence", "theme_source", "needs_review", "category", "cluster_label",
    "model_type", "model_size", "model", "attack_method", "campaign", "rating", "success", "harmlessness",
    "is_upworker", "task_description",
)
SORTABLE = {"rating": "rating", "harmlessness": "harmlessness", "model": "model", "theme": "theme",
            "theme_confidence": "theme_confidence", "source_row": "source_row"}
# Heatmap axes: rows (how themes are grouped) x columns; each pair is a ``metric_cells`` grain "<row>_<col>".
AXIS_ROWS = ("theme", "category")
AXIS_COLUMNS = ("model_type", "attack_method", "campaign")
CATALOG = "risk"  # name of the attached published database inside the private in-memory DuckDB
# The attack map (docs/performance.md "The dashboard at scale"): at most MAP_MAX_POINTS points go to the browser,
# a sample stratified by cluster and by cell of a MAP_SAMPLE_GRID x MAP_SAMPLE_GRID grid, clusters of up to
# MAP_KEEP_WHOLE attacks whole; the density layer counts every attack on a MAP_DENSITY_GRID grid. The budget is
# measured: ~163 bytes of figure JSON per point on the demo (4.9 MB at 30,000); a point's text is cut at 120
# characters, so 20,000 points stay under 5 MB even with long descriptions.
MAP_MAX_POINTS = 20_000
MAP_KEEP_WHOLE = 50
MAP_SAMPLE_GRID = 32
MAP_DENSITY_GRID = 120
MAP_COLUMNS = (
    "scope.attack_id, scope.x::float as x, scope.y::float as y, scope.theme, "
    "coalesce(t.display_name, scope.theme, 'unknown') as display_name, scope.cluster_id, "
    "scope.cluster_strength, scope.model, scope.rating, scope.harmlessness, scope.success, "
    "scope.theme_confidence, scope.theme_source, scope.needs_review, scope.attack_method, scope.category, "
    "left(scope.task_description, 200) as task_description"
)


class DatabaseUnavailable(UserError):
    """There is no readable published database; the message says how to build one."""


def open_read_only(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB with the published file at ``path`` attached read-only as ``CATALOG`` (and in
    use), its tables checked; raises ``DatabaseUnavailable`` with a readable sentence when it is not usable.

    Not ``duckdb.connect(path)``: DuckDB keeps one instance per path in the process, so reopening a path whose
    file was replaced would return the old, still open file. ATTACH opens the file that is at the path now.
    """
    path = str(path)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach ? as {CATALOG} (read_only)", [path])
        con.execute(f"use {CATALOG}")
        tables = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_catalog = ?", [CATALOG]).fetchall()}
    except duckdb.Error as exc:
        con.close()
        raise DatabaseUnavailable(
            f"{path} is not a readable DuckDB database ({_first_line(exc)}). {BUILD_HINT}") from None
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        con.close()
        what = ("was built by an older version of redteam-risk" if "attacks" in tables
                else "is not a redteam-risk database")
        raise DatabaseUnavailable(f"{path} {what} (missing tables: {', '.join(missing)}). {BUILD_HINT}")
    sql.create_macros(con, temporary=True)  # scoped queries use them, also on a file built before they existed
    return con


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


@dataclass(frozen=True)
class FilterOptions:
    """The values the sidebar offers, from the whole database."""

    model_sizes: tuple[str, ...]  # sorted by parsed size
    model_types: tuple[str, ...]  # the paper's four first, then the rest
    models: tuple[str, ...]  # at most 500, most frequent first
    themes: dict[str, str]  # theme id -> display name
    clusters: dict[int, str]  # cluster id -> label
    has_pools: bool  # some attack says whether it came from Upwork or MTurk
    has_rating: bool  # some attack has a 0–4 rating
    harmlessness_range: tuple[float, float] | None  # min, max of harmlessness; None when absent
    categories: tuple[str, ...] = ()  # the sources' own harm labels, most frequent first (at most 500)
    attack_methods: tuple[str, ...] = ()  # most frequent first (at most 500)
    campaigns: tuple[str, ...] = ()  # most frequent first (at most 500)
    has_review: bool = False  # some attack's theme needs review (low confidence)
    has_success: bool = True  # some attack has a success value (its own or from a rating)
    created_range: tuple[datetime, datetime] | None = None  # first, last created_at (UTC); None when absent

    @property
    def has_model_types(self) -> bool:
        """The data names an intervention (model_type) for some attack; else models stand in for it."""
        return bool(self.model_types)

    @property
    def has_sizes(self) -> bool:
        return bool(self.model_sizes)


@dataclass(frozen=True)
class MapRegion:
    """A rectangle of the attack map (inclusive bounds in map units; None = unbounded on that side)."""

    x_min: float | None = None
    x_max: float | None = None
    y_min: float | None = None
    y_max: float | None = None

    def __post_init__(self) -> None:
        for low, high in ((self.x_min, self.x_max), (self.y_min, self.y_max)):
            if low is not None and high is not None and low > high:
                raise UserError(f"a map region needs its lower bound ({low:g}) at or below its upper ({high:g})")

    def params(self) -> dict[str, float | None]:
        return {name: None if value is None else float(value) for name, value in
                (("x_min", self.x_min), ("x_max", self.x_max), ("y_min", self.y_min), ("y_max", self.y_max))}


class Queries:
    """The dashboard's queries on one DuckDB connection (or cursor) holding a published database.

    Filters always travel as bound parameters. Frames are polars; rates are fractions 0–1.
    ``dashboard.data``'s module functions call these through Streamlit's caches; a report or a CLI with
    its own read-only connection (``open_read_only``) calls them directly and gets the same numbers.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        # The analyst corrections of the store beside the database, loaded when its version changed.
        self._annotations_version = overlay.sync(con)

    # analyst annotations (annotations/, docs/annotations.md)

    def refresh_annotations(self) -> int:
        """Re-read the annotations store if its version changed (cheap when unchanged); the version applied."""
        self._annotations_version = overlay.sync(self.con)
        return self._annotations_version

    def annotations_version(self) -> int:
        """The store version whose corrections this connection applies (0: no store, -1: unreadable store)."""
        return self._annotations_version

    def corrected_counts(self, filters: Filters) -> dict[str, int]:
        """How many values in scope are analyst corrections: ``theme`` (theme_source 'analyst'), ``success``
        (verdicts), ``cluster`` (attacks of a renamed, re-themed or merged cluster), ``excluded`` (attacks an
        analyst excluded that the filters would otherwise keep), ``in_scope`` (attacks counted) and ``total``
        (theme + success + cluster + excluded)."""
        row = self.in_scope(
            filters,
            "count(*) filter (where exclusion is null) as in_scope, "
            "count(*) filter (where exclusion is null and theme_source = 'analyst') as theme, "
            "count(*) filter (where exclusion is null and success_corrected) as success, "
            "count(*) filter (where exclusion is null and cluster_corrected) as cluster, "
            "count(*) filter (where exclusion is not null) as excluded",
            extra={"include_excluded": True}).row(0, named=True)
        out = {key: int(value or 0) for key, value in row.items()}
        out["total"] = out["theme"] + out["success"] + out["cluster"] + out["excluded"]
        return out

    def mitigations(self) -> pl.DataFrame:
        """The mitigation tracking of the store beside the database, one row per priority area: kind ('theme' |
        'cluster'), key (theme id or cluster id as text), area_name (the theme's display name or the cluster's
        corrected label; null when the area is not in the database), status, owner, due_date, note, link,
        updated_at, updated_by."""
        path = overlay.database_path(self.con)
        store_ = overlay.store_for(path) if path is not None else None
        frame = store_.mitigations() if store_ is not None else pl.DataFrame(schema=MITIGATION_SCHEMA)
        names = self.sql(
            f"with clusters as (\n{sql.read('queries', 'clusters_in_scope')}\n)\n"
            "select 'theme' as kind, theme as key, coalesce(display_name, theme) as area_name from themes "
            "union all select 'cluster', cast(cluster_id as varchar), label from clusters")
        return frame.join(names, on=["kind", "key"], how="left").select(
            "kind", "key", "area_name", "status", "owner", "due_date", "note", "link", "updated_at", "updated_by")

    def sql(self, text: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        return self.con.sql(text, params=sql.bind(text, params or {})).pl()

    def in_scope(self, filters: Filters, select: str, tail: str = "",
                 extra: dict[str, Any] | None = None) -> pl.DataFrame:
        """``select <select> from scope <tail>``, ``scope`` = the attacks in ``filters`` (attacks_in_scope.sql)."""
        text = f"with scope as (\n{sql.read('queries', 'attacks_in_scope')}\n)\nselect {select} from scope {tail}"
        return self.sql(text, {**filters.params(), **(extra or {})})

    # whole-database facts (not filtered)

    def filter_options(self) -> FilterOptions:
        sizes = self.sql("select model_size, min(model_size_b) as b from attacks where model_size is not null "
                         "group by model_size order by b nulls last, model_size")
        types = self.sql("select distinct model_type from attacks where model_type is not null order by 1")
        models = self.sql("select model, count(*) as n from attacks where model is not null group by model "
                          "order by n desc, model limit 500")
        # themes the attacks have after the analysts' corrections (one only an analyst gave is listed too)
        themes = self.in_scope(Filters(), "distinct s.theme, coalesce(t.display_name, s.theme) as name",
                               "s left join themes t using (theme) where s.theme is not null order by 2")
        clusters = self.sql(f"with clusters as (\n{sql.read('queries', 'clusters_in_scope')}\n)\n"
                            "select cluster_id, label from clusters order by cluster_id")  # corrected labels
        facts = self.sql("select count(is_upworker) > 0 as has_pools, count(rating) > 0 as has_rating, "
                         "count(*) filter (where needs_review) > 0 as has_review, "
                         "count(success) + count(rating) > 0 as has_success, "
                         "min(harmlessness) as h_min, max(harmlessness) as h_max, "
                         "min(created_at) as c_min, max(created_at) as c_max from attacks").row(0, named=True)
        labels = {column: tuple(self.sql(
            f"select {column} as v, count(*) as n from attacks where {column} is not null group by {column} "
            "order by n desc, v limit 500")["v"].to_list()) for column in ("category", "attack_method", "campaign")}
        present = types["model_type"].to_list()
        ordered_types = [t for t in ANTHROPIC_MODEL_TYPES if t in present] + [t for t in present
                                                                             if t not in ANTHROPIC_MODEL_TYPES]
        h_range = None if facts["h_min"] is None else (float(facts["h_min"]), float(facts["h_max"]))
        return FilterOptions(
            model_sizes=tuple(sizes["model_size"].to_list()),
            model_types=tuple(ordered_types),
            models=tuple(models["model"].to_list()),
            themes=dict(zip(themes["theme"].to_list(), themes["name"].to_list())),
            clusters=dict(zip(clusters["cluster_id"].to_list(), clusters["label"].to_list())),
            has_pools=bool(facts["has_pools"]),
            has_rating=bool(facts["has_rating"]),
            harmlessness_range=h_range,
            categories=labels["category"],
            attack_methods=labels["attack_method"],
            campaigns=labels["campaign"],
            has_review=bool(facts["has_review"]),
            has_success=bool(facts["has_success"]),
            created_range=None if facts["c_min"] is None else (facts["c_min"], facts["c_max"]),
        )

    def runs(self) -> pl.DataFrame:
        """Build history, newest first (one row per build), with ``build_mode``: how the build was made
        (a copy of an unchanged build, new attacks placed on an earlier fit, or a full fit; null for builds
        that did not record it)."""
        return self.sql(
            "select *, case "
            "when json_extract_string(parameters, '$.reused_from') is not null "
            "then 'unchanged: copy of ' || json_extract_string(parameters, '$.reused_from') "
            "when json_extract_string(parameters, '$.placement.mode') = 'incremental' "
            "then 'incremental: ' || json_extract_string(parameters, '$.placement.placed') "
            "|| ' new attacks placed on the fit of ' || json_extract_string(parameters, '$.placement.base_run') "
            "when json_extract_string(parameters, '$.placement.mode') = 'full' then 'full fit' "
            "end as build_mode from runs order by started_at desc")

    def latest_run(self) -> dict[str, Any] | None:
        """The newest published build (else the newest build; ``etl.store.latest_run``) as a dict with
        ``parameters`` and ``inputs`` parsed from JSON (``inputs`` None when unreadable), or None."""
        run = store.latest_run(self.runs())
        if run is not None and isinstance(run.get("inputs"), str):
            try:
                run["inputs"] = json.loads(run["inputs"])
            except ValueError:
                run["inputs"] = None
        return run

    def examples(self, filters: Filters, theme: str, n: int) -> pl.DataFrame:
        """Up to ``n`` representative attacks of ``theme`` in scope: first the clusters' representatives
        (nearest their centroids, biggest clusters first), then the most successful others (highest rating,
        lowest harmlessness). Duplicates are left out. Columns: attack_id, model, rating, harmlessness,
        success, cluster_label, task_description, attack_text."""
        return self.in_scope(
            filters,
            "scope.attack_id, model, rating, harmlessness, success, cluster_label, task_description, attack_text",
            "left join (select unnest(representative_ids) as attack_id, n_attacks as cluster_size from clusters "
            "where cluster_id <> -1) as reps on reps.attack_id = scope.attack_id "
            "where theme = $example_theme and not is_duplicate "
            "order by reps.cluster_size desc nulls last, rating desc nulls last, harmlessness asc nulls last, "
            "scope.attack_id limit $example_limit",
            {"example_theme": theme, "example_limit": int(n)},
        )

    def table_counts(self) -> pl.DataFrame:
        """Rows per table of the published database."""
        return self.sql(" union all ".join(f"select '{t}' as table_name, count(*) as n_rows from {t}"
                                           for t in REQUIRED_TABLES))

    def rejected_rows(self, limit: int = 1000) -> pl.DataFrame:
        return self.sql("select * from rejected_rows order by run_id desc, source_file, source_row limit $limit",
                        {"limit": int(limit)})

    def rejection_reasons(self) -> pl.DataFrame:
        return self.sql("select reason, count(*) as n_rows from rejected_rows group by reason "
                        "order by n_rows desc, reason")

    def themes(self) -> pl.DataFrame:
        return self.sql("select * from themes order by severity desc, theme")

    def clusters(self) -> pl.DataFrame:
        return self.sql("select * from clusters order by cluster_id")

    # metric views under the filters

    def view(self, name: str, filters: Filters) -> pl.DataFrame:
        """Rows of metric view ``sql/views/<name>.sql`` over the attacks in ``filters``."""
        return sql.query(self.con, name, kind="views", filters=filters)

    def overall(self, filters: Filters) -> dict:
        """The headline metric block (``overall_metrics``) plus ``n_themes`` and ``n_clusters`` (excluding -1)."""
        frame = self.view("overall_metrics", filters)
        out = frame.row(0, named=True) if frame.height else {"n_attacks": 0}
        out.update(self.in_scope(filters, "count(distinct theme) as n_themes, count(distinct cluster_id) "
                                          "filter (where cluster_id >= 0) as n_clusters").row(0, named=True))
        return out

    def theme_by_model_type(self, filters: Filters) -> pl.DataFrame:
        """Metric block per theme × model_type, sizes pooled (``metric_cells`` grain ``theme_model_type``)."""
        cells = self.view("metric_cells", filters).filter(pl.col("grain") == "theme_model_type")
        names = self.themes().select("theme", "display_name")
        return cells.join(names, on="theme", how="left").with_columns(
            pl.coalesce("display_name", "theme").alias("display_name"))

    def group_metrics(self, filters: Filters, by: str = "theme") -> pl.DataFrame:
        """Metric block per theme (``theme_metrics``, with display_name and severity) or per source category
        (``metric_cells`` grain ``category``; attacks without one as "(no category)")."""
        if by == "theme":
            return self.view("theme_metrics", filters)
        if by != "category":
            raise ValueError(f"cannot group by {by!r}")
        return (self.view("metric_cells", filters).filter(pl.col("grain") == "category")
                .with_columns(pl.col("category").fill_null("(no category)")).sort("n_attacks", descending=True))

    def axis_cells(self, filters: Filters, rows: str = "theme", cols: str = "model_type") -> pl.DataFrame:
        """Metric block per ``rows`` × ``cols`` (``AXIS_ROWS`` × ``AXIS_COLUMNS``; ``metric_cells`` grain
        ``<rows>_<cols>``), with ``display_name`` for themes. ``model_type`` is the model name where an attack
        has no intervention (see metric_cells)."""
        if rows not in AXIS_ROWS or cols not in AXIS_COLUMNS:
            raise ValueError(f"no heatmap of {rows!r} x {cols!r}")
        cells = self.view("metric_cells", filters).filter(pl.col("grain") == f"{rows}_{cols}")
        if rows == "theme":
            names = self.themes().select("theme", "display_name")
            return cells.join(names, on="theme", how="left").with_columns(
                pl.coalesce("display_name", "theme").alias("display_name"))
        return cells.with_columns(pl.col("category").fill_null("(no category)"))

    def priority_areas(self, filters: Filters, weights: Weights | None = None, kind: str = "theme") -> pl.DataFrame:
        """Ranked priority areas (``sql.priority``): one row per theme (``kind="theme"``) or cluster
        (``"cluster"``) with rank, score, ``*_score`` components, ``w_*`` weights, numbers, explanation."""
        rank = priority.cluster_priority_areas if kind == "cluster" else priority.priority_areas
        return rank(self.con, filters, weights or Weights())

    def compare(self, a: Filters, b: Filters, pair_on: str = "attack_text", run_a: str | None = None,
                run_b: str | None = None) -> comparing.Comparison:
        """Scope ``a`` (before / reference) against scope ``b`` (after / candidate): per theme, cluster, attack
        method and overall success with the difference's intervals and flags, the paired counts of the attacks
        in both (same ``pair_on``: attack_text or task_description) and the newly succeeding ones
        (``sql.compare``; docs/metrics.md#comparing-two-scopes).

        ``run_a`` / ``run_b``: compare two published builds of this database path: scope A over the attacks of
        build ``run_a``, scope B over those of ``run_b`` (each a kept build, ``snapshots()``, or the current
        build's run id; None = the current build). Raises ``etl.store.UnknownRun`` for a build not kept."""
        if run_a is None and run_b is None:
            return comparing.compare(self.con, a, b, pair_on)
        current = (self.latest_run() or {}).get("run_id")
        catalogs = tuple(None if run in (None, current) else self._attach_run(run) for run in (run_a, run_b))
        runs = tuple(current if run is None else run for run in (run_a, run_b))
        try:
            return comparing.compare(self.con, a, b, pair_on, catalogs=catalogs, runs=runs)
        except duckdb.BinderException as exc:
            raise UserError(f"builds {runs[0]} and {runs[1]} cannot be compared: one was written by a version "
                            f"whose tables differ ({_first_line(exc)})") from None

    def snapshots(self) -> list[dict[str, Any]]:
        """The earlier published builds kept beside this database (``etl.store.list_snapshots``), newest first:
        run_id, path, size_bytes, published_at. Empty for an in-memory database or none kept."""
        path = overlay.database_path(self.con)
        return store.list_snapshots(path) if path is not None else []

    def _attach_run(self, run_id: str) -> str:
        """Attach the kept build ``run_id`` read-only (once per connection); its catalog name."""
        path = overlay.database_path(self.con)
        if path is None:
            raise store.UnknownRun(f"run {run_id!r}: this database has no file, so no kept builds")
        snapshot = store.snapshot_path(path, run_id)
        catalog = "rtr_run_" + hashlib.sha1(str(snapshot).encode()).hexdigest()[:16]
        attached = {row[0] for row in self.con.execute("select database_name from duckdb_databases()").fetchall()}
        if catalog not in attached:
            try:
                self.con.execute(f"attach if not exists ? as {catalog} (read_only)", [str(snapshot)])
            except duckdb.Error as exc:
                raise DatabaseUnavailable(f"kept build {run_id} ({snapshot}) is not readable: "
                                          f"{_first_line(exc)}") from None
        return catalog

    # attacks under the filters

    def map_points(self, filters: Filters, max_points: int = MAP_MAX_POINTS,
                   region: MapRegion | None = None) -> pl.DataFrame:
        """The attacks drawn on the attack map: at most ``max_points`` of those in scope with a position (inside
        ``region`` when given), a deterministic sample stratified by cluster and grid cell (map_sample.sql)
        that keeps every cluster, small ones whole; all of them when they fit. Columns: attack_id, x, y
        (float32), theme, display_name, cluster_id, cluster_strength (0–1), model, rating, harmlessness,
        success, theme_confidence (0–1), theme_source, needs_review, attack_method, category,
        task_description (first 200 characters); in input order. ``map_counts`` gives the true counts."""
        if max_points < 1:
            raise ValueError("max_points must be at least 1")
        return self._placed(
            filters, region, MAP_SAMPLE_GRID, sql.read("queries", "map_sample"),
            f"select {MAP_COLUMNS} from scope left join themes t on t.theme = scope.theme "
            "where scope.attack_id in (select attack_id from result) "
            "order by scope.source_file, scope.source_row, scope.attack_id",
            {"max_points": int(max_points), "keep_whole": MAP_KEEP_WHOLE})

    def map_counts(self, filters: Filters, region: MapRegion | None = None) -> pl.DataFrame:
        """True number of attacks with a map position per cluster (cluster_id, n; null = not clustered), in
        scope and inside ``region``: what a sampled map stands for."""
        return self._placed(filters, region, 1, "select cluster_id, count(*) as n from placed group by cluster_id",
                            "select * from result order by cluster_id nulls last")

    def map_density(self, filters: Filters, region: MapRegion | None = None,
                    grid: int = MAP_DENSITY_GRID) -> pl.DataFrame:
        """Every attack with a map position in scope (inside ``region``) counted per cell of a ``grid`` x
        ``grid`` grid over their extent (map_density.sql): cell_x, cell_y, x, y (cell centre), x0, x1, y0,
        y1 (the extent the grid covers), n, n_success; only cells holding attacks."""
        if not 1 <= grid <= 1000:
            raise ValueError("grid must be between 1 and 1000 cells per axis")
        return self._placed(filters, region, grid, sql.read("queries", "map_density"),
                            "select * from result order by cell_y, cell_x")

    def map_extent(self, filters: Filters) -> dict[str, float] | None:
        """x0, x1, y0, y1: the smallest rectangle holding every attack in scope with a map position (None: none)."""
        row = self._placed(filters, None, 1, "select min(x) as x0, max(x) as x1, min(y) as y0, max(y) as y1 "
                                             "from placed", "select * from result").row(0, named=True)
        return None if row["x0"] is None else {k: float(v) for k, v in row.items()}

    def _placed(self, filters: Filters, region: MapRegion | None, grid: int, body: str, select: str,
                extra: dict[str, Any] | None = None) -> pl.DataFrame:
        """``select`` over the CTEs ``scope`` (the attacks in ``filters``), ``placed`` (map_placed.sql: those
        with a position in ``region``, narrow) and ``result`` (``body``, a query reading ``placed``).
        ``scope`` is not materialized: a materialized scope would copy every column of every attack."""
        text = (f"with scope as not materialized (\n{sql.read('queries', 'attacks_in_scope')}\n),\n"
                f"placed as (\n{sql.read('queries', 'map_placed')}\n),\n"
                f"result as (\n{body}\n)\n{select}")
        return self.sql(text, {**filters.params(), **(region or MapRegion()).params(), "grid": int(grid),
                               **(extra or {})})

    def count_attacks(self, filters: Filters, ids: tuple[str, ...] | None = None) -> int:
        where = "where list_contains($page_ids::varchar[], attack_id)" if ids is not None else ""
        extra = {"page_ids": list(ids)} if ids is not None else None
        return int(self.in_scope(filters, "count(*) as n", where, extra)["n"][0])

    def attacks_page(self, filters: Filters, limit: int, offset: int, sort: str = "source_row",
                     descending: bool = False, ids: tuple[str, ...] | None = None) -> pl.DataFrame:
        """One page of attacks in scope (``TABLE_COLUMNS``, theme as display name), ordered by ``sort`` (a key
        of ``SORTABLE``); with ``ids``, only those attacks. LIMIT/OFFSET are bound parameters."""
        order = SORTABLE.get(sort, "source_row")
        where = "where list_contains($page_ids::varchar[], scope.attack_id)" if ids is not None else ""
        extra: dict[str, Any] = {"page_limit": int(limit), "page_offset": int(offset)}
        if ids is not None:
            extra["page_ids"] = list(ids)
        columns = ", ".join("coalesce(t.display_name, scope.theme) as theme" if c == "theme" else f"scope.{c}"
                            for c in TABLE_COLUMNS)
        order_by = "coalesce(t.display_name, scope.theme)" if order == "theme" else f"scope.{order}"
        return self.in_scope(
            filters, columns,
            f"left join themes t on t.theme = scope.theme {where} order by {order_by} "
            f"{'desc' if descending else 'asc'} nulls last, scope.source_file, scope.source_row, scope.attack_id "
            "limit $page_limit offset $page_offset",
            extra,
        )

    def attack(self, attack_id: str) -> dict | None:
        """One attack (all columns) by id, or None."""
        frame = self.sql("select * from attacks where attack_id = $attack_id", {"attack_id": attack_id})
        return frame.row(0, named=True) if frame.height else None

    def turns(self, attack_id: str) -> pl.DataFrame:
        """The transcript of one attack: turn_index, speaker ('human' | 'assistant'), text; in order."""
        return self.sql("select turn_index, speaker, text from turns where attack_id = $attack_id order by turn_index",
                        {"attack_id": attack_id})

    # similar attacks: nearest neighbours of the stored embeddings (sql/similar.py; no model is loaded)

    def similar(self, attack_id: str, k: int = 10) -> pl.DataFrame:
        """The ``k`` attacks (at most ``sql.similar.MAX_NEIGHBOURS``) whose embeddings are nearest ``attack_id``'s
        by cosine, from the whole database: ``similarity`` (−1…1, best first) then ``TABLE_COLUMNS``; empty
        when the attack has no stored vector."""
        return self._with_similarity(nearest(self.con, (attack_id,), k))

    def similar_to_selection(self, attack_ids: tuple[str, ...], k: int = 10) -> pl.DataFrame:
        """Like ``similar``, nearest the centroid of ``attack_ids``' embeddings (the selection itself left out)."""
        return self._with_similarity(nearest(self.con, attack_ids, k))

    def _with_similarity(self, pairs: list[tuple[str, float]]) -> pl.DataFrame:
        ids = tuple(a for a, _ in pairs)
        rows = self.attacks_page(Filters(), len(ids), 0, ids=ids)  # through attacks_in_scope: overlays apply
        scores = pl.DataFrame({"attack_id": list(ids), "similarity": [s for _, s in pairs]},
                              schema={"attack_id": pl.String, "similarity": pl.Float64})
        return scores.join(rows, on="attack_id", how="inner", maintain_order="left")

    def export_frame(self, filters: Filters, ids: tuple[str, ...] | None = None) -> pl.DataFrame:
        """``EXPORT_COLUMNS`` of every attack in scope (or only ``ids``), in input order, then the mitigation status
        of the attack's theme and of its cluster (``theme_mitigation``, ``cluster_mitigation``; null = untracked)."""
        where = "where list_contains($page_ids::varchar[], attack_id)" if ids is not None else ""
        frame = self.in_scope(filters, ", ".join(EXPORT_COLUMNS), f"{where} order by source_file, source_row",
                              {"page_ids": list(ids)} if ids is not None else None)
        tracked = self.mitigations()
        for kind, column in (("theme", "theme"), ("cluster", "cluster_id")):
            status = dict(tracked.filter(pl.col("kind") == kind).select("key", "status").iter_rows())
            frame = frame.with_columns(pl.col(column).cast(pl.Utf8).replace_strict(status, default=None,
                                                                                   return_dtype=pl.Utf8)
                                       .alias(f"{kind}_mitigation"))
        return frame
