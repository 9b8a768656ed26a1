"""Kept builds (etl/store.py): publishing keeps the replaced file as <db>.runs/<run_id>.duckdb, retains the
newest --keep-runs of them, and a failed publish leaves the current file and the kept ones intact."""

from __future__ import annotations

import errno
import hashlib
import os
from datetime import datetime, timedelta

import duckdb
import polars as pl
import pytest

from etl import store
from etl.schema import ATTACK_COLUMNS, conform


def _attacks(n: int) -> pl.DataFrame:
    return conform(pl.DataFrame({
        "attack_id": [f"a{i}" for i in range(n)], "source_file": ["f.json"] * n, "source_row": list(range(n)),
        "attack_text": [f"attack {i}" for i in range(n)], "is_duplicate": [False] * n}), ATTACK_COLUMNS)


def _runs(run_id: str, k: int) -> pl.DataFrame:
    return pl.DataFrame({"run_id": [run_id], "started_at": [datetime(2026, 1, 1) + timedelta(hours=k)],
                         "status": ["published"], "inputs": ["[]"]})


def publish(db, k: int, keep_runs: int = store.DEFAULT_KEEP_RUNS) -> None:
    """Publish build number ``k`` (run id ``r<k>``, ``k + 1`` attacks); its mtime orders it after the others."""
    build = store.build_path(db, f"r{k}")
    store.write_build(build, {"attacks": _attacks(k + 1), "runs": _runs(f"r{k}", k)})
    os.utime(build, (1_700_000_000 + k, 1_700_000_000 + k))
    store.publish(build, db, keep_runs)


def _count(path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select count(*) from attacks").fetchall()[0][0]
    finally:
        con.close()


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_publish_keeps_the_replaced_build_and_retains_the_newest(tmp_path):
    db = tmp_path / "risk.duckdb"
    publish(db, 0)
    assert store.list_snapshots(db) == []  # nothing replaced yet
    publish(db, 1)
    kept = store.list_snapshots(db)
    assert [r["run_id"] for r in kept] == ["r0"] and _count(kept[0]["path"]) == 1
    assert kept[0]["size_bytes"] == kept[0]["path"].stat().st_size > 0
    publish(db, 2)
    publish(db, 3)  # the default keeps two: r2, r1; r0 is pruned
    assert [r["run_id"] for r in store.list_snapshots(db)] == ["r2", "r1"]
    assert [_count(r["path"]) for r in store.list_snapshots(db)] == [3, 2]
    assert _count(db) == 4
    assert store.snapshot_path(db, "r1") == store.runs_dir(db) / "r1.duckdb"
    with pytest.raises(store.UnknownRun, match="kept builds: r2, r1"):
        store.snapshot_path(db, "r0")
    with pytest.raises(store.UnknownRun):
        store.snapshot_path(db, "../risk")
    publish(db, 4, keep_runs=1)
    assert [r["run_id"] for r in store.list_snapshots(db)] == ["r3"]
    publish(db, 5, keep_runs=0)  # 0 keeps none (and prunes the earlier ones)
    assert store.list_snapshots(db) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["risk.duckdb", "risk.duckdb.runs"]


def test_a_kept_build_is_a_hard_link_and_a_reader_of_a_pruned_one_keeps_reading(tmp_path):
    db = tmp_path / "risk.duckdb"
    publish(db, 0)
    inode = db.stat().st_ino
    publish(db, 1)
    snap = store.snapshot_path(db, "r0")
    assert snap.stat().st_ino == inode  # no copy: the replaced file itself
    reader = duckdb.connect(str(snap), read_only=True)
    publish(db, 2, keep_runs=0)
    assert not snap.exists()
    assert reader.execute("select count(*) from attacks").fetchall()[0][0] == 1
    reader.close()


def test_without_hard_links_the_build_is_copied(tmp_path, monkeypatch):
    db = tmp_path / "risk.duckdb"
    publish(db, 0)

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "no hard links here")

    monkeypatch.setattr(os, "link", no_links)
    publish(db, 1)
    snap = store.snapshot_path(db, "r0")
    assert snap.stat().st_ino != db.stat().st_ino and _count(snap) == 1


@pytest.mark.parametrize("where", ["snapshot", "replace"])
def test_a_failed_publish_leaves_the_current_file_and_the_kept_builds_intact(tmp_path, monkeypatch, where):
    db = tmp_path / "risk.duckdb"
    for k in range(3):
        publish(db, k)
    before = _digest(db)
    kept = {r["run_id"]: _digest(r["path"]) for r in store.list_snapshots(db)}
    build = store.build_path(db, "r9")
    store.write_build(build, {"attacks": _attacks(10), "runs": _runs("r9", 9)})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "snapshot":  # the disk fills up while keeping the current file (no links: a copy)
        monkeypatch.setattr(os, "link", full)
        monkeypatch.setattr(store.shutil, "copyfile", full)
    else:
        original = os.replace

        def replace(src, dst, *args, **kwargs):
            if store.BUILD_MARKER in os.fspath(src):
                full()
            return original(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        store.publish(build, db)
    monkeypatch.undo()
    assert _digest(db) == before and _count(db) == 3
    assert {r["run_id"]: _digest(r["path"]) for r in store.list_snapshots(db)} == kept
    assert [p.name for p in store.runs_dir(db).iterdir() if p.name.startswith(".")] == []  # no partial snapshot
    store.discard_build(build)


def test_a_database_without_run_history_is_kept_under_its_time(tmp_path):
    db = tmp_path / "risk.duckdb"
    first = store.build_path(db, "x")
    store.write_build(first, {"attacks": _attacks(2)})
    store.publish(first, db)
    publish(db, 1)
    assert [r["run_id"] for r in store.list_snapshots(db)][0].startswith("previous-")
