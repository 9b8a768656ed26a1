"""The DuckDB store: schema from ``sql/``, a build written to a private file, published by atomic rename.

Readers (the dashboard) only ever open the published path read-only. A build is written to
``.<name>.building-<pid>-<run_id>`` in the same directory and moved over the published path with
``os.replace`` once it is complete, checkpointed and fsynced, so a reader sees the old or the new
database, never a partial one. A reader that still has the old file open keeps reading it (the inode
lives until it closes); the old file's space is freed by the OS when the last reader lets go.

Kept builds (for comparing two runs, ``sql.compare``): before the replace, ``publish`` keeps the file it
replaces as ``<db>.runs/<run_id>.duckdb`` (a hard link to the same inode, a copy where links are not possible)
and then keeps only the newest ``keep_runs`` of them (``DEFAULT_KEEP_RUNS``). The current file is never
written; when the snapshot cannot be made the publish stops before the replace, leaving the current file, the
kept ones and the build in place for the caller to discard.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

import sql
from etl import settings
from etl.errors import UserError

log = logging.getLogger("redteam_risk.store")

BUILD_MARKER = ".building-"
RUNS_SUFFIX = ".runs"  # <db>.runs/<run_id>.duckdb: the published files kept for comparing runs
DEFAULT_KEEP_RUNS = settings.DEFAULT_KEEP_RUNS  # snapshots kept beside the database besides the current file
_SNAPSHOT_EXT = ".duckdb"


class UnknownRun(UserError):
    """A run id that is not one of the kept builds; the message lists the kept ones."""


class BuildMemoryError(UserError):
    """DuckDB ran out of memory under the cap set for writing a build (``settings.build_memory_limit``); the build is
    discarded by the caller, so the published database is unchanged."""


def check_memory_limit(explicit: str | None = None) -> str:
    """The build's memory cap (``settings.build_memory_limit``), checked by DuckDB itself; a ``UserError`` naming
    where it came from when DuckDB does not take it (e.g. "lots" or "-1GB")."""
    limit = settings.build_memory_limit(explicit)
    try:
        duckdb.connect(":memory:", config={"memory_limit": limit}).close()
    except duckdb.Error as exc:
        where = "--build-memory-limit" if explicit else f"${settings.BUILD_MEMORY_LIMIT_ENV}"
        raise UserError(f"{where} must be a size DuckDB understands, such as 512MB or 2GB; got {limit!r} "
                        f"({_first_line(exc)})") from None
    return limit


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table in ``sql/schema``."""
    for name in sql.names("schema"):
        con.execute(sql.read("schema", name))


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create every macro in ``sql/macros``, then every view in ``sql/views`` as ``create view <file name> as
    <file body>``.

    Views may read each other; they are created in dependency order by retrying the ones whose
    inputs do not exist yet.
    """
    sql.create_macros(con)  # the formulas the views share (Wilson, Newcombe)
    pending = sql.names("views")
    while pending:
        failed: list[tuple[str, Exception]] = []
        for name in pending:
            try:
                con.execute(f"create or replace view {name} as {sql.read('views', name)}")
            except duckdb.CatalogException as exc:
                failed.append((name, exc))
        if len(failed) == len(pending):
            raise RuntimeError(f"cannot create view {failed[0][0]}: {failed[0][1]}")
        pending = [name for name, _ in failed]


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
                 chunk_rows: int | None = None) -> None:
    """Insert ``frame`` into ``table`` by column name (columns the frame lacks stay null/default), in order; with
    ``chunk_rows``, that many rows at a time (only one slice is converted to Arrow at once)."""
    if frame.height == 0:
        return
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    size = chunk_rows or frame.height
    for lo in range(0, frame.height, size):
        arrow = frame.slice(lo, size).to_arrow()  # noqa: F841 - referenced by name in the SQL below
        con.execute(f"insert into {table} ({cols}) select {cols} from arrow")
        del arrow


def _insert_all(con: duckdb.DuckDBPyConnection, table: str, frames: pl.DataFrame | Iterable[pl.DataFrame]) -> None:
    """Insert a frame, or frames one after another; nothing of them is referenced here afterwards."""
    for frame in [frames] if isinstance(frames, pl.DataFrame) else frames:
        insert_frame(con, table, frame, settings.BUILD_INSERT_ROWS)


def build_path(db_path: Path, run_id: str) -> Path:
    return db_path.with_name(f".{db_path.name}{BUILD_MARKER}{os.getpid()}-{run_id}")


def remove_stale_builds(db_path: Path) -> list[Path]:
    """Delete build files left by crashed runs (their process is gone). Returns what was removed."""
    removed = []
    for path in db_path.parent.glob(f".{db_path.name}{BUILD_MARKER}*"):
        pid_part = path.name.split(BUILD_MARKER, 1)[1].split("-", 1)[0]
        if pid_part.isdigit() and _pid_alive(int(pid_part)):
            continue
        discard_build(path)
        removed.append(path)
    return removed


def discard_build(path: Path) -> None:
    """Delete a build file and the write-ahead log and spill folder (``<build>.tmp``) DuckDB may have left beside it."""
    if path.is_dir():  # a spill folder found by remove_stale_builds on its own
        shutil.rmtree(path, ignore_errors=True)
        return
    path.unlink(missing_ok=True)
    Path(str(path) + ".wal").unlink(missing_ok=True)
    shutil.rmtree(str(path) + ".tmp", ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def begin_build(
    path: Path,
    tables: Mapping[str, pl.DataFrame | Iterable[pl.DataFrame] | Callable[[], pl.DataFrame | Iterable[pl.DataFrame]]],
    memory_limit: str | None = None,
) -> None:
    """Start a build at ``path`` early: the schema and ``tables`` (as ``write_build`` takes them; each checkpointed
    once written), then closed, so the frames they came from can leave memory long before the publish (the pipeline
    writes the ingested turns right after ingest). ``write_build(path, ..., begun=True)`` completes the build; the
    caller discards it (``discard_build``) if the run stops before."""
    path.unlink(missing_ok=True)
    with _build_connection(path, memory_limit) as con:
        create_schema(con)
        _insert_tables(con, tables)


def write_build(
    path: Path,
    tables: Mapping[str, pl.DataFrame | Iterable[pl.DataFrame] | Callable[[], pl.DataFrame | Iterable[pl.DataFrame]]],
    finalize: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    memory_limit: str | None = None,
    begun: bool = False,
) -> None:
    """Create a complete database at ``path``: schema, ``tables`` (name -> a frame, or frames inserted in turn), the
    search text of the attacks (``attack_search``), views, then ``finalize(con)`` (tables derived from the views,
    e.g. priority areas); checkpointed and closed. ``begun``: ``path`` was started by ``begin_build`` (it has the
    schema and the tables written then; ``tables`` adds the others).

    Memory: DuckDB's buffer pool is capped at ``memory_limit`` (default ``settings.build_memory_limit()``: 256MB
    unless ``$REDTEAM_RISK_BUILD_MEMORY_LIMIT`` says otherwise), spilling to ``<build>.tmp`` beyond it; frames are
    inserted ``settings.BUILD_INSERT_ROWS`` rows at a time and every table is checkpointed once written, so the
    written tables can leave memory. What cannot spill (e.g. the primary-key indexes) and does not fit under the
    cap raises ``BuildMemoryError`` saying how to raise it. A ``tables`` value that is a zero-argument callable is
    called when its turn comes (its frames are not built, or kept alive, before)."""
    if not begun:
        path.unlink(missing_ok=True)
    with _build_connection(path, memory_limit) as con:
        if not begun:
            create_schema(con)
        _insert_tables(con, tables)
        con.execute(f"insert into attack_search {sql.read('queries', 'attack_search')}")
        con.execute("checkpoint")
        create_views(con)
        if finalize is not None:
            finalize(con)
        con.execute("checkpoint")


@contextmanager
def _build_connection(path: Path, memory_limit: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the build file ``path`` under the build's memory cap, closed afterwards; DuckDB's
    out-of-memory error inside becomes ``BuildMemoryError``."""
    limit = settings.build_memory_limit(memory_limit)
    con = duckdb.connect(str(path), config={"memory_limit": limit})
    try:
        yield con
    except duckdb.Error as exc:
        if not _out_of_memory(exc):
            raise
        raise BuildMemoryError(
            f"writing the build database ran out of memory under its cap of {limit} ({_first_line(exc)}); the "
            f"published database is unchanged. Raise the cap with --build-memory-limit (or "
            f"${settings.BUILD_MEMORY_LIMIT_ENV}), e.g. --build-memory-limit 1GB, on a machine with that much "
            f"memory to spare") from exc
    finally:
        con.close()


def _out_of_memory(exc: duckdb.Error) -> bool:
    """Whether DuckDB failed for want of memory under its cap: its out-of-memory error, or another error caused by
    it (a commit that could not pin a block raises a ``TransactionException`` with the same advice)."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.OutOfMemoryException) or any(
        sign in text for sign in ("out of memory", "failed to pin block", "could not allocate block"))


def _insert_tables(con: duckdb.DuckDBPyConnection, tables: Mapping) -> None:
    for table, frames in tables.items():
        _insert_all(con, table, frames() if callable(frames) else frames)
        con.execute("checkpoint")


def copy_build(db_path: Path, build: Path, run: pl.DataFrame) -> int:
    """A new build at ``build`` that is the published database plus one ``runs`` row (``run``, one row),
    with its ``rejected_rows`` attributed to that run; returns its number of clusters (noise excluded).
    Reading a file another build is replacing is safe: ``os.replace`` leaves this copy reading the old file."""
    build.unlink(missing_ok=True)
    shutil.copyfile(db_path, build)
    con = duckdb.connect(str(build))
    try:
        insert_frame(con, "runs", run)
        con.execute("update rejected_rows set run_id = $run_id", {"run_id": run["run_id"][0]})
        con.execute("checkpoint")
        return int(con.sql("select count(*) from clusters where cluster_id >= 0").fetchall()[0][0])
    finally:
        con.close()


def publish(build: Path, db_path: Path, keep_runs: int = DEFAULT_KEEP_RUNS) -> None:
    """Atomically make ``build`` the database at ``db_path``, first keeping the file it replaces as a snapshot
    (``keep_snapshot``) and afterwards pruning the snapshots to the newest ``keep_runs`` (0: none kept)."""
    if keep_runs < 0:
        raise ValueError(f"keep_runs must be 0 or more, not {keep_runs}")
    with open(build, "rb+") as fh:
        os.fsync(fh.fileno())
    kept = keep_snapshot(db_path) if keep_runs > 0 else None
    try:
        os.replace(build, db_path)
    except BaseException:
        if kept is not None:  # the current file stays published: its snapshot is not needed yet
            kept.unlink(missing_ok=True)
            _remove_if_empty(runs_dir(db_path))
        raise
    dir_fd = os.open(db_path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    log.info("publish: %s", db_path)
    try:
        prune_snapshots(db_path, keep_runs)
    except OSError as exc:  # the build is published; an old snapshot that stays is only disk space
        log.warning("publish: could not prune the kept builds in %s: %s", runs_dir(db_path), exc)


# ---- kept builds (snapshots) ---------------------------------------------------------------------------------


def runs_dir(db_path: Path) -> Path:
    """The folder of the builds kept beside ``db_path``: ``<db>.runs``."""
    return db_path.with_name(db_path.name + RUNS_SUFFIX)


def keep_snapshot(db_path: Path) -> Path | None:
    """Keep the file now published at ``db_path`` as ``<db>.runs/<run_id>.duckdb`` (its newest published run;
    ``previous-<mtime>`` when it records none); None when there is no file. A hard link (no extra disk until the
    published path is replaced, then exactly the old file's size), else a copy; written under a temporary name
    and renamed, so a snapshot is complete or absent. Returns the snapshot made (None when there is no file or
    it is kept already). Raises OSError when it cannot be kept."""
    if not db_path.exists():
        return None
    run = latest_run(read_previous_runs(db_path))
    run_id = str(run["run_id"]) if run is not None and run.get("run_id") else f"previous-{int(db_path.stat().st_mtime)}"
    folder = runs_dir(db_path)
    folder.mkdir(exist_ok=True)
    target = folder / f"{_safe_name(run_id)}{_SNAPSHOT_EXT}"
    if target.exists() and os.path.samefile(target, db_path):
        return None
    tmp = folder / f".{target.name}.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(db_path, tmp)
        except OSError:  # a file system without hard links
            shutil.copyfile(db_path, tmp)
            shutil.copystat(db_path, tmp)  # its time orders the kept builds, as a link's would
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        _remove_if_empty(folder)
        raise
    log.info("publish: kept the build it replaces as %s", target)
    return target


def list_snapshots(db_path: Path) -> list[dict[str, Any]]:
    """The builds kept beside ``db_path``, newest first: dicts with ``run_id``, ``path``, ``size_bytes`` and
    ``published_at`` (the file's modification time, UTC, naive: when that build was written)."""
    folder = runs_dir(db_path)
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob(f"*{_SNAPSHOT_EXT}"):
        if path.name.startswith("."):
            continue
        try:
            st = path.stat()
        except OSError:  # pruned meanwhile
            continue
        out.append({"run_id": path.name[: -len(_SNAPSHOT_EXT)], "path": path, "size_bytes": st.st_size,
                    "published_at": datetime.fromtimestamp(st.st_mtime, timezone.utc).replace(tzinfo=None),
                    "_mtime": st.st_mtime_ns})
    out.sort(key=lambda r: (r["_mtime"], r["run_id"]), reverse=True)
    for row in out:
        del row["_mtime"]
    return out


def snapshot_path(db_path: Path, run_id: str) -> Path:
    """The kept build ``run_id`` of ``db_path``; raises ``UnknownRun`` (listing the kept ones) otherwise."""
    kept = list_snapshots(db_path)
    for row in kept:
        if row["run_id"] == run_id:
            return row["path"]
    listed = ", ".join(r["run_id"] for r in kept) or "none (publish a build again to keep the current one)"
    raise UnknownRun(f"run {run_id!r} is not a kept build of {db_path}; kept builds: {listed}")


def prune_snapshots(db_path: Path, keep_runs: int) -> list[Path]:
    """Delete all but the newest ``keep_runs`` kept builds (and temporary files of interrupted ones); returns
    what was deleted. A reader that has a deleted snapshot open keeps reading it until it closes it."""
    removed = []
    for row in list_snapshots(db_path)[max(keep_runs, 0):]:
        row["path"].unlink(missing_ok=True)
        removed.append(row["path"])
    folder = runs_dir(db_path)
    if folder.is_dir():
        for tmp in folder.glob(".*.tmp-*"):
            pid = tmp.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                tmp.unlink(missing_ok=True)
    return removed


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _safe_name(run_id: str) -> str:
    """``run_id`` as a file name: letters, digits, ``-``, ``_`` and ``.`` kept, anything else ``_``."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id).lstrip(".")
    return name or "run"


def read_previous_runs(db_path: Path) -> pl.DataFrame | None:
    """The ``runs`` history of the currently published database, or None if there is none."""
    if not db_path.exists():
        return None
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        log.warning("store: cannot read previous build history from %s: %s", db_path, exc)
        return None
    try:
        return con.sql("select * from runs").pl()
    except duckdb.Error:
        return None
    finally:
        con.close()


def published_runs(runs: pl.DataFrame | None) -> list[dict[str, Any]]:
    """The published runs of a ``runs`` history (the table of a database, ``read_previous_runs``), newest
    first, one dict per run with ``parameters`` parsed from JSON (``{}`` when absent or unreadable).

    The one ordering every reader uses: latest ``started_at`` first (nulls last); ties, and histories without
    ``started_at``, by table order (later rows are newer). A history without ``status`` counts every run as
    published. Empty list for None or an empty history."""
    return _newest_first(runs, published_only=True)


def latest_run(runs: pl.DataFrame | None) -> dict[str, Any] | None:
    """The newest published run of ``runs`` (as ``published_runs`` gives it), else, for a history that records
    none as published, the newest run of any status; None for no history."""
    newest = published_runs(runs) or _newest_first(runs, published_only=False)
    return newest[0] if newest else None


def _newest_first(runs: pl.DataFrame | None, *, published_only: bool) -> list[dict[str, Any]]:
    if runs is None or runs.height == 0:
        return []
    frame = runs.with_row_index("_row")
    if published_only and "status" in frame.columns:
        frame = frame.filter(pl.col("status") == "published")
    keys = ["started_at", "_row"] if "started_at" in frame.columns else ["_row"]
    frame = frame.sort(keys, descending=True, nulls_last=True).drop("_row")
    out = []
    for row in frame.iter_rows(named=True):
        row["parameters"] = _json_object(row.get("parameters"))
        out.append(row)
    return out


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    try:
        parsed = json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}
