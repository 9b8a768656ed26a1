"""Readers querying the published database while rebuilds are published never fail and end on the newest build.

Eight readers (4 threads, 4 spawned processes) query the database the way the dashboard does: a private
in-memory DuckDB that ATTACHes the file read-only, reopened when the file's inode changes, queried through
``sql.database.Queries``. Meanwhile five builds are published in a row with ``etl.store``. Each build has a
distinct number of attacks (its marker), so a reader can tell which build it read and that it was complete.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl import store
from etl.schema import ATTACK_COLUMNS, conform

pytestmark = pytest.mark.slow

N_THREADS = 4
N_PROCESSES = 4
REBUILDS = 5
READ_TIMEOUT = 300  # seconds a reader keeps trying to see the newest build before it gives up (a failure)


def marker(k: int) -> int:
    """Attack count of build ``k`` (0 = the first published build)."""
    return 7 + 11 * k


def _build(db: Path, k: int) -> None:
    n = marker(k)
    attacks = conform(pl.DataFrame({
        "attack_id": [f"b{k}-{i}" for i in range(n)],
        "source_file": ["synthetic.json"] * n,
        "source_row": list(range(n)),
        "attack_text": [f"attack {i} of build {k}" for i in range(n)],
        "model_type": ["rlhf"] * n,
        "model_size": ["52B"] * n,
        "rating": [float(i % 5) for i in range(n)],
        "success": [i % 5 >= 3 for i in range(n)],
        "theme": ["violence"] * n,
        "cluster_id": [i % 3 for i in range(n)],
        "is_duplicate": [False] * n,
    }), ATTACK_COLUMNS)
    runs = pl.DataFrame({
        "run_id": [f"build-{k}"], "started_at": [datetime(2026, 1, 1, 0, k)], "status": ["published"],
        "inputs": ["[]"], "n_read": [n], "n_loaded": [n],
    })
    build = store.build_path(db, f"build-{k}")
    store.write_build(build, {"attacks": attacks, "runs": runs})
    store.publish(build, db)


def read_until_newest(db: str, final: int, ready, started) -> dict:
    """Query ``db`` like the dashboard until it shows ``final`` attacks. Returns what was seen and any errors.

    ``ready`` is set after the first successful read; ``started`` is waited on before looping (both are
    threading or multiprocessing events).
    """
    from sql.database import CATALOG, Queries
    from sql.filters import Filters

    seen: list[int] = []
    errors: list[str] = []
    reads = 0
    con = None
    inode = None
    deadline = time.monotonic() + READ_TIMEOUT
    try:
        while time.monotonic() < deadline:
            try:
                now = os.stat(db).st_ino
                if now != inode:  # a new build was published: open the file now at the path
                    if con is not None:
                        con.close()
                    con = duckdb.connect(":memory:")
                    con.execute(f"attach ? as {CATALOG} (read_only)", [db])
                    con.execute(f"use {CATALOG}")
                    inode = now
                queries = Queries(con)
                count = queries.count_attacks(Filters())
                runs = queries.runs()
                overall = queries.overall(Filters())
                if overall["n_attacks"] != count or runs["n_loaded"][0] != count:
                    errors.append(f"inconsistent read: {count} attacks, overall {overall['n_attacks']}, "
                                  f"newest run {runs['n_loaded'][0]}")
                reads += 1
                if not seen or seen[-1] != count:
                    seen.append(count)
            except Exception:  # noqa: BLE001 - every error a reader meets is what this test counts
                errors.append(traceback.format_exc(limit=3))
            if seen:
                ready.set()
                started.wait()
            if seen and seen[-1] == final:
                break
    finally:
        if con is not None:
            con.close()
    return {"seen": seen, "errors": errors[:5], "n_errors": len(errors), "reads": reads}


def _process_reader(db: str, final: int, ready, started, results) -> None:
    results.put(read_until_newest(db, final, ready, started))


def _deleted_database_fds(db: Path) -> list[str]:
    """Open file descriptors of this process that point at a removed copy of ``db`` (Linux /proc)."""
    out = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(db.parent)) and target.endswith("(deleted)"):
            out.append(target)
    return out


def test_readers_never_fail_and_all_see_newest_build_while_rebuilds_publish(tmp_path):
    db = tmp_path / "risk.duckdb"
    _build(db, 0)
    final = marker(REBUILDS)

    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    results = ctx.Queue()
    thread_results: list[dict] = []
    readers = []
    ready_events = []
    for _ in range(N_PROCESSES):
        ready = ctx.Event()
        proc = ctx.Process(target=_process_reader, args=(str(db), final, ready, started, results))
        proc.start()
        readers.append(proc)
        ready_events.append(ready)
    threads = []
    for _ in range(N_THREADS):
        ready = threading.Event()
        t = threading.Thread(
            target=lambda r=ready: thread_results.append(read_until_newest(str(db), final, r, started)))
        t.start()
        threads.append(t)
        ready_events.append(ready)

    try:
        # Every reader has the first build open before any rebuild is published.
        for ready in ready_events:
            assert ready.wait(timeout=READ_TIMEOUT), "a reader never managed its first read"
        started.set()
        for k in range(1, REBUILDS + 1):
            _build(db, k)
        for t in threads:
            t.join(timeout=READ_TIMEOUT + 60)
        process_results = [results.get(timeout=READ_TIMEOUT + 60) for _ in readers]
        for proc in readers:
            proc.join(timeout=60)
    finally:
        for proc in readers:
            if proc.is_alive():
                proc.kill()

    everything = thread_results + process_results
    assert len(everything) == N_THREADS + N_PROCESSES
    markers = {marker(k) for k in range(REBUILDS + 1)}
    for result in everything:
        assert result["n_errors"] == 0, result["errors"]
        assert result["seen"][0] == marker(0)
        assert result["seen"][-1] == final, result["seen"]
        assert set(result["seen"]) <= markers, f"a reader saw a partial build: {result['seen']}"
    assert all(proc.exitcode == 0 for proc in readers)
    print("reads per reader:", [r["reads"] for r in everything], "builds seen:", [r["seen"] for r in everything])

    # Once the readers are closed nothing keeps an old build alive: one database file and its kept builds
    # (complete files, at most the default number), no build or WAL files, and this process holds no descriptor
    # on a replaced (deleted) database file.
    kept = tmp_path / f"{db.name}.runs"
    assert sorted(p.name for p in tmp_path.iterdir()) == [db.name, kept.name]
    kept_files = [p.name for p in kept.iterdir()]
    assert 0 < len(kept_files) <= store.DEFAULT_KEEP_RUNS and all(
        n.endswith(".duckdb") and not n.startswith(".") for n in kept_files), kept_files
    if Path("/proc/self/fd").is_dir():
        assert _deleted_database_fds(db) == []


def test_dashboard_connection_is_read_only(tmp_path, monkeypatch):
    """The dashboard's own connection (``dashboard.data._connection``) cannot change the published file."""
    from dashboard import data

    db = tmp_path / "risk.duckdb"
    _build(db, 0)
    before = db.read_bytes()
    monkeypatch.setenv(data.DB_ENV, str(db))
    con = data._connection(data.current())
    try:
        for statement in ("delete from attacks", "drop table runs", "create table extra (x int)",
                          "update attacks set attack_text = 'changed'"):
            with pytest.raises(duckdb.Error, match="read-only|read only"):
                con.execute(statement)
        assert con.execute("select count(*) from attacks").fetchone()[0] == marker(0)
    finally:
        con.close()
        data._connection.clear()
    assert db.read_bytes() == before
