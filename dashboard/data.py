"""The dashboard's data access: Streamlit caching over the query layer (``sql.database``).

- The database path comes from ``$REDTEAM_RISK_DB``. Each call stats the file (microseconds); the ETL
  publishes a new build with ``os.replace``, which changes the inode, so the next call opens the new file
  read-only and later queries use it, without a restart. A connection that is still in use on the old
  file keeps reading the old inode until it is dropped.
- One read-only connection per published file (``st.cache_resource`` over ``sql.database.open_read_only``),
  one cursor per thread (Streamlit runs each session's script in its own thread; DuckDB cursors are not
  shared across threads).
- Query results are cached with ``st.cache_data`` keyed on the file identity, the version of the analysts'
  annotations store beside it (``annotations.store``; any edit bumps it), the query name and the filters, so
  neither a new build nor a correction ever serves stale numbers. The caches are shared by every session; the
  key is ``cache_key``'s string of those values (Streamlit's own hashing of the same arguments cost about a
  millisecond per call, several calls per page, for every session).
Every query is a method of ``sql.database.Queries``, which knows nothing of Streamlit, so the reports and the
CLI compute exactly what the dashboard shows. The module functions are the dashboard's cached entry points:
polars frames (or plain values) in the units of docs/schema.md; they raise ``DatabaseUnavailable`` with a
readable sentence when there is no usable database. Pages import this module, never duckdb.
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

from annotations import overlay
from annotations.store import HISTORY_SCHEMA, UNPLACED_SCHEMA, AnnotationStore
from dashboard.safety import to_csv_bytes
from etl.domain import Weights
from etl.errors import UserError
from sql import priority
from sql.database import (  # noqa: F401 - DatabaseUnavailable, FilterOptions, MapRegion: pages use them through data
    BUILD_HINT,
    CATALOG,
    MAP_MAX_POINTS,
    DatabaseUnavailable,
    FilterOptions,
    MapRegion,
    Queries,
    open_read_only,
)
from sql.filters import Filters

log = logging.getLogger("redteam_risk.dashboard")

DB_ENV = "REDTEAM_RISK_DB"
CACHE_TTL = 3600  # seconds; results are also keyed on the file identity, so this only bounds memory


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
    """The published file attached read-only in a private in-memory DuckDB (``sql.database.open_read_only``).

    max_entries=1: a newly published file evicts the old connection; cursors still open on it keep the old
    file alive until their threads replace them.
    """
    log.info("dashboard: opening %s read-only (inode %d)", db.path, db.inode)
    return open_read_only(db.path)


_local = threading.local()


def _cursor(db: Db) -> duckdb.DuckDBPyConnection:
    if getattr(_local, "db", None) != db:
        cursor = _connection(db).cursor()
        cursor.execute(f"use {CATALOG}")
        _local.cursor, _local.db = cursor, db
    return _local.cursor


# --- the dashboard's cached entry points ------------------------------------------------------------------


def annotations_version(db: Db | None = None) -> int:
    """The version of the annotations store beside the database (0 without one; -1 when unreadable): part of
    every cache key, so a correction shows on the next rerun."""
    try:
        store = overlay.store_for(Path((db or current()).path))
        return store.version() if store is not None else 0
    except UserError as exc:
        log.warning("dashboard: %s", exc)
        return -1


def cache_key(*parts: Any) -> str:
    """The cache key of ``parts`` (a database identity, an annotations version, a query name and its
    arguments): their ``repr``. Every value the dashboard passes is a str, number, bool, None, tuple or frozen
    dataclass of those (``Db``, ``Filters``, ``Weights``, ``MapRegion``), whose repr names every field, so two
    keys are equal exactly when the values are."""
    return repr(parts)


# Arguments named with a leading underscore are not hashed by Streamlit: ``key`` stands for all of them.
@st.cache_data(ttl=CACHE_TTL, max_entries=1024, show_spinner=False)
def _cached(key: str, _db: Db, _method: str, _args: tuple) -> Any:
    t0 = time.perf_counter()
    out = getattr(Queries(_cursor(_db)), _method)(*_args)  # Queries loads the store's corrections if they changed
    log.debug("dashboard: %s in %.0f ms", _method, 1000 * (time.perf_counter() - t0))
    return out


def _query(db: Db, annotations: int, method: str, args: tuple) -> Any:
    return _cached(cache_key(db, annotations, method, args), db, method, args)


def _call(method: str, *args: Any) -> Any:
    db = current()
    return _query(db, annotations_version(db), method, args)


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
    """The newest published build (else the newest build) with ``parameters`` and ``inputs`` parsed, or None
    (``Queries.latest_run``)."""
    return _call("latest_run")


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
    """Why area ``a`` ranks above or below ``b`` (``sql.priority.compare_areas``), one sentence."""
    return priority.compare_areas(areas, a, b)


def compare(a: Filters, b: Filters, pair_on: str = "attack_text", run_a: str | None = None,
            run_b: str | None = None):
    """``Queries.compare``: scope ``a`` against scope ``b`` (a ``sql.compare.Comparison``), of the builds
    ``run_a`` / ``run_b`` when given (kept builds, ``snapshots``)."""
    return _call("compare", a, b, pair_on, run_a, run_b)


def snapshots() -> list[dict]:
    """The earlier builds kept beside the database (``Queries.snapshots``), newest first. Not cached: a listing
    of a folder, and a new build must show at once."""
    return Queries(_cursor(current())).snapshots()


def map_points(filters: Filters, region: MapRegion | None = None) -> pl.DataFrame:
    """The attacks drawn on the map: a bounded, deterministic sample (``Queries.map_points``)."""
    return _call("map_points", filters, MAP_MAX_POINTS, region)


def map_counts(filters: Filters, region: MapRegion | None = None) -> pl.DataFrame:
    return _call("map_counts", filters, region)


def map_extent(filters: Filters) -> dict[str, float] | None:
    return _call("map_extent", filters)


def map_figure(filters: Filters, color_by: str, region: MapRegion | None = None):
    """The attack map figure (``dashboard.charts.attack_map``) of ``map_points(filters, region)``, built once per
    database, annotations version, filters, region and colouring and shared by every session: treat it as
    read-only."""
    db = current()
    annotations = annotations_version(db)
    return _map_figure(cache_key(db, annotations, filters, color_by, region), db, annotations, filters, color_by,
                       region)


@st.cache_resource(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _map_figure(key: str, _db: Db, _annotations: int, _filters: Filters, _color_by: str,
                _region: MapRegion | None):
    from dashboard import charts

    points = _query(_db, _annotations, "map_points", (_filters, MAP_MAX_POINTS, _region))
    return charts.attack_map(points, _color_by, _query(_db, _annotations, "clusters", ()))


def _frame_digest(frame: pl.DataFrame) -> str:
    """A digest of a frame's schema, shape and every row, in order (polars' row hashes, blake2b over them)."""
    import hashlib

    rows = frame.hash_rows(seed=0).to_numpy().tobytes() if frame.height else b""
    return f"frame{frame.schema!r}{frame.shape}" + hashlib.blake2b(rows, digest_size=16).hexdigest()


def figure(build, *args: Any, **kwargs: Any):
    """``build(*args, **kwargs)`` (a ``dashboard.charts`` function), built once for the same arguments and shared
    by every session and rerun: treat it as read-only. Frames are keyed by their content (``_frame_digest``),
    other arguments by their repr; building a plotly figure was about a fifth of a chart page's run."""
    parts = tuple(_frame_digest(a) if isinstance(a, pl.DataFrame) else a for a in args)
    named = tuple(sorted((k, _frame_digest(v) if isinstance(v, pl.DataFrame) else v) for k, v in kwargs.items()))
    return _figure(cache_key(build.__module__, build.__qualname__, parts, named), build, args, kwargs)


@st.cache_resource(ttl=CACHE_TTL, max_entries=256, show_spinner=False)
def _figure(key: str, _build, _args: tuple, _kwargs: dict):
    return _build(*_args, **_kwargs)


def density_figure(filters: Filters, region: MapRegion | None = None):
    """The density layer (``dashboard.charts.density_map``): every attack counted per grid cell; shared, read-only."""
    db = current()
    annotations = annotations_version(db)
    return _density_figure(cache_key(db, annotations, filters, region), db, annotations, filters, region)


@st.cache_resource(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _density_figure(key: str, _db: Db, _annotations: int, _filters: Filters, _region: MapRegion | None):
    from dashboard import charts

    return charts.density_map(_query(_db, _annotations, "map_density", (_filters, _region)),
                              _query(_db, _annotations, "map_points", (_filters, MAP_MAX_POINTS, _region)),
                              _query(_db, _annotations, "clusters", ()))


def count_attacks(filters: Filters, ids: tuple[str, ...] | None = None) -> int:
    return _call("count_attacks", filters, ids)


def attacks_page(filters: Filters, limit: int, offset: int, sort: str = "source_row", descending: bool = False,
                 ids: tuple[str, ...] | None = None) -> pl.DataFrame:
    return _call("attacks_page", filters, limit, offset, sort, descending, ids)


def attack(attack_id: str) -> dict | None:
    return _call("attack", attack_id)


def turns(attack_id: str) -> pl.DataFrame:
    return _call("turns", attack_id)


def similar(attack_id: str, k: int = 10) -> pl.DataFrame:
    """The ``k`` attacks nearest ``attack_id`` by its stored embedding (``Queries.similar``; no model loaded)."""
    return _call("similar", attack_id, k)


def similar_to_selection(attack_ids: tuple[str, ...], k: int = 10) -> pl.DataFrame:
    """The ``k`` attacks nearest the centroid of ``attack_ids`` (``Queries.similar_to_selection``)."""
    return _call("similar_to_selection", tuple(attack_ids), k)


def export_csv(filters: Filters, ids: tuple[str, ...] | None = None) -> bytes:
    """CSV (UTF-8 with BOM) of every attack in scope (or only ``ids``), spreadsheet formulas neutralised.

    Not cached: it runs only when the user clicks the download button (a deferred download).
    """
    return to_csv_bytes(Queries(_cursor(current())).export_frame(filters, ids))


# --- analyst annotations (annotations/, docs/annotations.md) ------------------------------------------------


def annotation_store() -> AnnotationStore:
    """The annotations store of the current database (created beside it on first use; raises
    ``annotations.store.AnnotationError`` when it cannot be opened). Write through it with ``user=``."""
    return _annotation_store(current().path)


@st.cache_resource(max_entries=4, show_spinner=False)
def _annotation_store(db_path: str) -> AnnotationStore:
    return AnnotationStore.for_database(db_path)


def corrected_counts(filters: Filters) -> dict[str, int]:
    """How many values in scope are analyst corrections (``Queries.corrected_counts``)."""
    return _call("corrected_counts", filters)


def mitigations() -> pl.DataFrame:
    """Mitigation tracking per priority area with the area's name (``Queries.mitigations``)."""
    return _call("mitigations")


def existing_store() -> AnnotationStore | None:
    """The store beside the current database if there is one (reading never creates it)."""
    return overlay.store_for(Path(current().path))


def history(**kw: Any) -> pl.DataFrame:
    """Changes, newest first (``AnnotationStore.history``: entity_kind, entity_id, user, field, since, limit)."""
    store = existing_store()
    return store.history(**kw) if store is not None else pl.DataFrame(schema=HISTORY_SCHEMA)


def unplaced() -> pl.DataFrame:
    """Corrections the last rebuild could not carry over (``AnnotationStore.unplaced``)."""
    store = existing_store()
    return store.unplaced() if store is not None else pl.DataFrame(schema=UNPLACED_SCHEMA)
