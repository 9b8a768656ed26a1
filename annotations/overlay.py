"""Query-time overlay: the store's current corrections as tables of a private in-memory DuckDB catalog, which
``sql/queries/attacks_in_scope.sql`` (``source_attacks``) and ``sql/queries/clusters_in_scope.sql`` join.

The tables live in the catalog ``CATALOG``, an in-memory database attached read-write to the query connection
(``ATTACH ':memory:'``), not in TEMP: DuckDB's temporary tables belong to one connection, while the dashboard
asks through one cursor per thread; an attached catalog is shared by every cursor of the connection. The
published file is never written. ``sync`` refreshes the tables when the store's version changed, in one
transaction, so a query sees the old or the new corrections, never half of them.

Tables (fully qualified in the SQL):
- ``attack_corrections``: attack_id, theme, success, exclusion, note (one row per corrected attack);
- ``cluster_corrections``: cluster_id (published id), label (its own corrected label), theme (its corrected
  theme, else the first corrected theme along its merges), merged_into (the final cluster of a chain of merges,
  or null), target_label (the corrected label of that final cluster, or null); one row per cluster with a
  label, theme or merge correction, or that is the end of a merge;
- ``state``: version (the store's ``version()`` loaded; 0 for no store), store_path.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from annotations.store import SUFFIX, AnnotationError, AnnotationStore

log = logging.getLogger("redteam_risk.annotations")

CATALOG = "rtr_annotations"
ATTACKS = f"{CATALOG}.main.attack_corrections"
CLUSTERS = f"{CATALOG}.main.cluster_corrections"
STATE = f"{CATALOG}.main.state"
_SCHEMA = (
    f"create table if not exists {ATTACKS} (attack_id varchar primary key, theme varchar, success boolean, "
    "exclusion varchar, note varchar)",
    f"create table if not exists {CLUSTERS} (cluster_id integer primary key, label varchar, theme varchar, "
    "merged_into integer, target_label varchar)",
    f"create table if not exists {STATE} (version bigint, store_path varchar)",
)
_LOCK = threading.Lock()  # one refresh at a time in this process (DuckDB would refuse a concurrent replace)
_STORES: dict[str, AnnotationStore] = {}


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Make the overlay tables exist on ``con`` (empty when new), so the scoped SQL runs on any connection."""
    try:
        con.execute(f"select version from {STATE} limit 1").fetchall()
        return
    except duckdb.CatalogException:
        pass
    with _LOCK:
        con.execute(f"attach if not exists ':memory:' as {CATALOG} (read_only false)")
        for statement in _SCHEMA:
            con.execute(statement)


def database_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file of the database in use on ``con`` (None for an in-memory one)."""
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    return Path(row[0][0]) if row and row[0][0] else None


def store_for(db_path: Path) -> AnnotationStore | None:
    """The store beside ``db_path`` (cached per path), or None when there is none yet."""
    store_path = str(db_path) + SUFFIX
    if not os.path.exists(store_path):
        return None
    store = _STORES.get(store_path)
    if store is None:
        store = _STORES[store_path] = AnnotationStore(store_path, db_path=db_path)
    return store


def sync(con: duckdb.DuckDBPyConnection, db_path: Path | None = None) -> int:
    """Load the corrections of the store beside the database in use on ``con`` (or ``db_path``) into the
    overlay tables when its version differs from the loaded one; returns the version now applied (0: no store).

    A store that cannot be read is logged as a warning and applies nothing (the published values are shown)."""
    ensure(con)
    db_path = db_path or database_path(con)
    loaded = con.execute(f"select version, store_path from {STATE}").fetchall()
    try:
        store = store_for(db_path) if db_path is not None else None
        version = store.version() if store is not None else 0
    except AnnotationError as exc:
        log.warning("annotations: %s", exc)
        store, version = None, -1
    path_text = str(store.path) if store is not None else None
    if loaded and loaded[0][0] == version and loaded[0][1] == path_text:
        return version
    attacks, clusters = (store.attack_corrections(), store.cluster_corrections()) if store is not None else (None, None)
    if clusters is not None and clusters.height:
        clusters = current_fit_only(clusters, store.cluster_snapshots(), _database_fit(con))
    cluster_rows = resolve_clusters(clusters)
    with _LOCK:
        cursor = con.cursor()
        try:
            cursor.execute("begin transaction")
            cursor.execute(f"delete from {ATTACKS}")
            cursor.execute(f"delete from {CLUSTERS}")
            cursor.execute(f"delete from {STATE}")
            if attacks is not None and attacks.height:
                frame = attacks  # noqa: F841 - read by name below
                cursor.execute(f"insert into {ATTACKS} select attack_id, theme, success, exclusion, note from frame")
            if cluster_rows.height:
                rows = cluster_rows  # noqa: F841 - read by name below
                cursor.execute(f"insert into {CLUSTERS} select cluster_id, label, theme, merged_into, target_label "
                               "from rows")
            cursor.execute(f"insert into {STATE} values (?, ?)", [version, path_text])
            cursor.execute("commit")
        except BaseException:
            cursor.execute("rollback")
            raise
        finally:
            cursor.close()
    return version


def _database_fit(con: duckdb.DuckDBPyConnection) -> str | None:
    from etl import store as etl_store
    from annotations.store import fit_id

    try:
        return fit_id(etl_store.latest_run(con.sql("select * from runs").pl()))
    except duckdb.Error:
        return None


def current_fit_only(clusters: pl.DataFrame, snapshots: dict[int, tuple[list[str], str | None]],
                     database_fit: str | None) -> pl.DataFrame:
    """The cluster corrections made on the clustering fit the database has: a correction (or merge target) whose
    snapshot is of another fit is left out until ``redteam-risk etl``'s carry-over re-keys it (its old id may
    name another group of attacks now)."""
    stale = {c for c, (_, fit) in snapshots.items() if fit is not None and database_fit is not None
             and fit != database_fit}
    if not stale:
        return clusters
    waiting = stale & set(clusters["cluster_id"].to_list())
    if waiting:
        log.warning("annotations: %d corrected clusters belong to an earlier clustering; they apply again after "
                    "`redteam-risk etl` carries them over", len(waiting))
    return clusters.filter(~pl.col("cluster_id").is_in(list(stale))).with_columns(
        pl.when(pl.col("merged_into").is_in(list(stale))).then(None).otherwise(pl.col("merged_into"))
        .alias("merged_into"))


def resolve_clusters(clusters: pl.DataFrame | None) -> pl.DataFrame:
    """The overlay rows of the cluster corrections: merges resolved to their final cluster, the theme taken from
    the first corrected theme along the chain, the final cluster's corrected label (see the module docstring)."""
    schema = {"cluster_id": pl.Int32, "label": pl.String, "theme": pl.String, "merged_into": pl.Int32,
              "target_label": pl.String}
    if clusters is None or clusters.height == 0:
        return pl.DataFrame(schema=schema)
    by_id: dict[int, dict[str, Any]] = {r["cluster_id"]: r for r in clusters.iter_rows(named=True)}
    rows = []
    for cluster_id, row in by_id.items():
        chain = [cluster_id]
        target = row["merged_into"]
        while target is not None and target not in chain:  # the store refuses cycles; this is a guard
            chain.append(target)
            target = by_id.get(target, {}).get("merged_into")
        final = chain[-1] if len(chain) > 1 else None
        theme = next((by_id[c]["theme"] for c in chain if c in by_id and by_id[c]["theme"] is not None), None)
        target_label = by_id.get(final, {}).get("label") if final is not None else None
        if row["label"] is None and theme is None and final is None:
            continue  # only reviewed: nothing changes in the numbers
        rows.append((cluster_id, row["label"], theme, final, target_label))
    return pl.DataFrame(rows, orient="row", schema=schema)
