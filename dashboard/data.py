"""The only module of the dashboard that talks to DuckDB.

- The database path comes from ``$REDTEAM_RISK_DB``. Each call stats the file (microseconds); the ETL
  publishes a new build with ``os.replace``, which changes the inode, so the next call opens the new file
  read-only and later queries use it, without a restart. A connection that is still in use on the old
  file keeps reading the old inode until it is dropped.
- One read-only connection per published file (``st.cache_resource``), one cursor per thread (Streamlit
  runs each session's script in its own thread; DuckDB cursors are not shared across threads).
- Query results are cached with ``st.cache_data`` keyed on the file identity, the query name and the
  filters, so a new build never serves stale numbers.
The SQL itself lives in ``Queries``, which takes any DuckDB connection and knows nothing of Streamlit,
so the reports compute exactly what the dashboard shows. The module functions are the dashboard's cached
entry points: polars frames (or plain values) in the units of docs/schema.md; they raise
``DatabaseUnavailable`` with a readable sentence when there is no usable database.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st

import sql
from dashboard.safety import to_csv_bytes
from etl import metrics, store
from etl.errors import UserError
from etl.metrics import Weights
from etl.schema import ANTHROPIC_MODEL_TYPES
from sql.filters import Filters

log = logging.getLogger("redteam_risk.dashboard")

DB_ENV = "REDTEAM_RISK_DB"
BUILD_HINT = ("Build one with `redteam-risk etl INPUT --db PATH` (or `make run` for the demo) and start the "
              "dashboard with `redteam-risk dashboard --db PATH`.")
REQUIRED_TABLES = ("attacks", "turns", "clusters", "themes", "runs", "rejected_rows")
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
CACHE_TTL = 3600  # seconds; results are also keyed on the file identity, so this only bounds memory


class DatabaseUnavailable(UserError):
    """There is no readable published database; the message says how to build one."""


@dataclass(frozen=True)
class Db:
    """Identity of one published database file: a replaced file gets a new inode (and mtime)."""

    path: str
    device: int
    inode: int
    mtime_ns: int
    size: int


def current() -> Db:
    """The database named by ``$REDTEAM_RISK_DB`` as it is on disk now."""
    raw = os.environ.get(DB_ENV, "").strip()
    if not raw:
        raise DatabaseUnavailable(
            f"No database is configured (the environment variable {DB_ENV} is not set). {BUILD_HINT}")
    path = Path(raw).expanduser()
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise DatabaseUnavailable(f"The database file {path} does not exist. {BUILD_HINT}") from None
    except OSError as exc:
        raise DatabaseUnavailable(f"The database file {path} cannot be read ({exc.strerror}). {BUILD_HINT}") from None
    if not path.is_file():
        raise DatabaseUnavailable(f"{path} is not a database file. {BUILD_HINT}")
    return Db(str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)


@st.cache_resource(max_entries=1, show_spinner=False)
def _connection(db: Db) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB with the published file attached read-only as ``risk``.

    Not ``duckdb.connect(path)``: DuckDB keeps one instance per path in the process, so reopening a path whose
    file was replaced would return the old, still open file. ATTACH opens the file that is at the path now.
    max_entries=1: a newly published file evicts the old connection; cursors still open on it keep the old
    file alive until their threads replace them.
    """
    log.info("dashboard: opening %s read-only (inode %d)", db.path, db.inode)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach ? as {CATALOG} (read_only)", [db.path])
        con.execute(f"use {CATALOG}")
        tables = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_catalog = ?", [CATALOG]).fetchall()}
    except duckdb.Error as exc:
        con.close()
        raise DatabaseUnavailable(
            f"{db.path} is not a readable DuckDB database ({_first_line(exc)}). {BUILD_HINT}") from None
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        con.close()
        raise DatabaseUnavailable(f"{db.path} is not a redteam-risk database (missing tables: {', '.join(missing)}). "
                                  f"{BUILD_HINT}")
    return con


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


_local = threading.local()


def _cursor(db: Db) -> duckdb.DuckDBPyConnection:
    if getattr(_local, "db", None) != db:
        cursor = _connection(db).cursor()
        cursor.execute(f"use {CATALOG}")
        _local.cursor, _local.db = cursor, db
    return _local.cursor


# --- every query, on a given connection (no Streamlit): the dashboard below and the reports use these ---


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

    @property
    def has_model_types(self) -> bool:
        """The data names an intervention (model_type) for some attack; else models stand in for it."""
        return bool(self.model_types)

    @property
    def has_sizes(self) -> bool:
        return bool(self.model_sizes)


class Queries:
    """The dashboard's queries on one DuckDB connection (or cursor) holding a published database.

    Filters always travel as bound parameters. Frames are polars; rates are fractions 0–1.
    ``dashboard.data``'s module functions call these through Streamlit's caches; a report or a CLI with
    its own read-only connection calls them directly and gets the same numbers.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

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
        themes = self.sql("select t.theme, coalesce(t.display_name, t.theme) as name from themes t "
                          "where t.theme in (select theme from attacks) union all "
                          "select distinct a.theme, a.theme from attacks a where a.theme is not null and "
                          "a.theme not in (select theme from themes) order by 2")
        clusters = self.sql("select cluster_id, label from clusters order by cluster_id")
        facts = self.sql("select count(is_upworker) > 0 as has_pools, count(rating) > 0 as has_rating, "
                         "count(*) filter (where needs_review) > 0 as has_review, "
                         "count(success) + count(rating) > 0 as has_success, "
                         "min(harmlessness) as h_min, max(harmlessness) as h_max from attacks").row(0, named=True)
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
        """Ranked priority areas (``etl.metrics``): one row per theme (``kind="theme"``) or cluster
        (``"cluster"``) with rank, score, ``*_score`` components, ``w_*`` weights, numbers, explanation."""
        rank = metrics.cluster_priority_areas if kind == "cluster" else metrics.priority_areas
        return rank(self.con, filters, weights or Weights())

    # attacks under the filters

    def map_points(self, filters: Filters) -> pl.DataFrame:
        """Every attack in scope with a map position: attack_id, x, y (float32), theme, display_name,
        cluster_id, cluster_strength (0–1), model, rating, harmlessness, success, theme_confidence (0–1),
        theme_source, needs_review, attack_method, category, task_description (first 200 characters)."""
        return self.in_scope(
            filters,
            "scope.attack_id, scope.x::float as x, scope.y::float as y, scope.theme, "
            "coalesce(t.display_name, scope.theme, 'unknown') as display_name, scope.cluster_id, "
            "scope.cluster_strength, scope.model, scope.rating, scope.harmlessness, scope.success, "
            "scope.theme_confidence, scope.theme_source, scope.needs_review, scope.attack_method, scope.category, "
            "left(scope.task_description, 200) as task_description",
            "left join themes t on t.theme = scope.theme where scope.x is not null and scope.y is not null "
            "order by scope.source_file, scope.source_row",
        )

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

    def export_frame(self, filters: Filters, ids: tuple[str, ...] | None = None) -> pl.DataFrame:
        """``EXPORT_COLUMNS`` of every attack in scope (or only ``ids``), in input order."""
        where = "where list_contains($page_ids::varchar[], attack_id)" if ids is not None else ""
        return self.in_scope(filters, ", ".join(EXPORT_COLUMNS), f"{where} order by source_file, source_row",
                             {"page_ids": list(ids)} if ids is not None else None)


# --- the dashboard's cached entry points ------------------------------------------------------------------


@st.cache_data(ttl=CACHE_TTL, max_entries=1024, show_spinner=False)
def _cached(db: Db, method: str, args: tuple) -> Any:
    t0 = time.perf_counter()
    out = getattr(Queries(_cursor(db)), method)(*args)
    log.debug("dashboard: %s in %.0f ms", method, 1000 * (time.perf_counter() - t0))
    return out


def _call(method: str, *args: Any) -> Any:
    return _cached(current(), method, args)


def check() -> Db:
    """The current database, opened and schema-checked (raises ``DatabaseUnavailable``)."""
    db = current()
    _connection(db)
    return db


def database_label() -> str:
    """Short identity of the open database for captions: file name and modification time."""
    db = current()
    return f"{Path(db.path).name} (modified {time.strftime('%Y-%m-%d %H:%M', time.localtime(db.mtime_ns / 1e9))})"


def filter_options() -> FilterOptions:
    return _call("filter_options")


def runs() -> pl.DataFrame:
    return _call("runs")


def latest_run() -> dict | None:
    """The newest published build (else the newest build) as a dict with ``parameters`` parsed, or None
    (``etl.store.latest_run``)."""
    return store.latest_run(runs())


def table_counts() -> pl.DataFrame:
    return _call("table_counts")


def rejected_rows(limit: int = 1000) -> pl.DataFrame:
    return _call("rejected_rows", limit)


def rejection_reasons() -> pl.DataFrame:
    return _call("rejection_reasons")


def themes() -> pl.DataFrame:
    return _call("themes")


def clusters() -> pl.DataFrame:
    return _call("clusters")


def view(name: str, filters: Filters) -> pl.DataFrame:
    return _call("view", name, filters)


def overall(filters: Filters) -> dict:
    return _call("overall", filters)


def theme_by_model_type(filters: Filters) -> pl.DataFrame:
    return _call("theme_by_model_type", filters)


def group_metrics(filters: Filters, by: str = "theme") -> pl.DataFrame:
    return _call("group_metrics", filters, by)


def axis_cells(filters: Filters, rows: str = "theme", cols: str = "model_type") -> pl.DataFrame:
    return _call("axis_cells", filters, rows, cols)


def priority_areas(filters: Filters, weights: Weights | None = None, kind: str = "theme") -> pl.DataFrame:
    return _call("priority_areas", filters, weights or Weights(), kind)


def compare_areas(areas: pl.DataFrame, a: str | int, b: str | int) -> str:
    """Why area ``a`` ranks above or below ``b`` (``etl.metrics.compare_areas``), one sentence."""
    return metrics.compare_areas(areas, a, b)


def map_points(filters: Filters) -> pl.DataFrame:
    return _call("map_points", filters)


def map_figure(filters: Filters, color_by: str):
    """The attack map figure (``dashboard.charts.attack_map``) for ``filters``, built once per database,
    filters and colouring and shared by every session: treat it as read-only."""
    return _map_figure(current(), filters, color_by)


@st.cache_resource(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _map_figure(db: Db, filters: Filters, color_by: str):
    from dashboard import charts

    return charts.attack_map(_cached(db, "map_points", (filters,)), color_by, _cached(db, "clusters", ()))


def count_attacks(filters: Filters, ids: tuple[str, ...] | None = None) -> int:
    return _call("count_attacks", filters, ids)


def attacks_page(filters: Filters, limit: int, offset: int, sort: str = "source_row", descending: bool = False,
                 ids: tuple[str, ...] | None = None) -> pl.DataFrame:
    return _call("attacks_page", filters, limit, offset, sort, descending, ids)


def attack(attack_id: str) -> dict | None:
    return _call("attack", attack_id)


def turns(attack_id: str) -> pl.DataFrame:
    return _call("turns", attack_id)


def export_csv(filters: Filters, ids: tuple[str, ...] | None = None) -> bytes:
    """CSV (UTF-8 with BOM) of every attack in scope (or only ``ids``), spreadsheet formulas neutralised.

    Not cached: it runs only when the user clicks the download button (a deferred download).
    """
    return to_csv_bytes(Queries(_cursor(current())).export_frame(filters, ids))
