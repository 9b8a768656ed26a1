"""The store publishes atomically: readers see the old or the new database, never a partial one."""

from __future__ import annotations


import duckdb
import polars as pl
import pytest

from etl import settings, store
from etl.schema import ATTACK_COLUMNS, conform


def _attacks(n: int, tag: str) -> pl.DataFrame:
    return conform(
        pl.DataFrame({
            "attack_id": [f"{tag}-{i}" for i in range(n)],
            "source_file": ["f.json"] * n,
            "source_row": list(range(n)),
            "attack_text": [f"attack {i}" for i in range(n)],
            "is_duplicate": [False] * n,
        }),
        ATTACK_COLUMNS,
    )


def _count(path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select count(*) from attacks").fetchone()[0]
    finally:
        con.close()


def test_publish_replaces_database_and_open_reader_keeps_old_snapshot(tmp_path):
    db = tmp_path / "risk.duckdb"
    first = store.build_path(db, "r1")
    store.write_build(first, {"attacks": _attacks(3, "a")})
    store.publish(first, db)
    reader = duckdb.connect(str(db), read_only=True)

    second = store.build_path(db, "r2")
    store.write_build(second, {"attacks": _attacks(5, "b")})
    store.publish(second, db)

    assert reader.execute("select count(*) from attacks").fetchone()[0] == 3  # old snapshot, still consistent
    reader.close()
    assert _count(db) == 5
    assert not first.exists() and not second.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["risk.duckdb", "risk.duckdb.runs"]  # the kept first build
    assert [_count(r["path"]) for r in store.list_snapshots(db)] == [3]


def test_failed_build_leaves_published_database_intact(tmp_path):
    db = tmp_path / "risk.duckdb"
    good = store.build_path(db, "good")
    store.write_build(good, {"attacks": _attacks(4, "g")})
    store.publish(good, db)
    before = db.read_bytes()

    bad = store.build_path(db, "bad")

    def explode(con):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.write_build(bad, {"attacks": _attacks(9, "x")}, finalize=explode)
    assert db.read_bytes() == before
    assert _count(db) == 4


def test_stale_builds_of_dead_processes_are_removed(tmp_path):
    db = tmp_path / "risk.duckdb"
    dead = tmp_path / f".risk.duckdb{store.BUILD_MARKER}999999999-old"
    dead.write_bytes(b"partial")
    alive = store.build_path(db, "mine")  # this process: still running, must be kept
    alive.write_bytes(b"in progress")
    removed = store.remove_stale_builds(db)
    assert removed == [dead]
    assert alive.exists() and not dead.exists()


def test_duplicate_attack_ids_fail_the_build(tmp_path):
    frame = pl.concat([_attacks(2, "d"), _attacks(2, "d")])
    with pytest.raises(duckdb.ConstraintException):
        store.write_build(tmp_path / "x.duckdb", {"attacks": frame})


def test_a_frame_inserted_in_slices_keeps_every_row_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "BUILD_INSERT_ROWS", 2)
    handed = {"attacks": _attacks(5, "s")}
    store.write_build(tmp_path / "s.duckdb", {"attacks": lambda: handed.pop("attacks")})
    assert handed == {}  # the build took the only reference
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    try:
        ids = [r[0] for r in con.execute("select attack_id from attacks").fetchall()]
    finally:
        con.close()
    assert ids == _attacks(5, "s")["attack_id"].to_list()


def test_discard_build_removes_the_spill_folder(tmp_path):
    build = tmp_path / ".x.duckdb.building-1-r"
    build.write_bytes(b"x")
    (tmp_path / (build.name + ".tmp")).mkdir()
    (tmp_path / (build.name + ".tmp") / "spill.block").write_bytes(b"x")
    store.discard_build(build)
    assert not list(tmp_path.iterdir())


def test_out_of_memory_under_the_build_cap_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(settings.BUILD_MEMORY_LIMIT_ENV, raising=False)
    build = tmp_path / "oom.duckdb"
    with pytest.raises(store.BuildMemoryError) as info:
        store.write_build(build, {"attacks": _attacks(20_000, "m")}, memory_limit="1MB")
    message = str(info.value)
    assert "ran out of memory under its cap of 1MB" in message and "the published database is unchanged" in message
    assert "--build-memory-limit" in message and settings.BUILD_MEMORY_LIMIT_ENV in message
    assert "\n" not in message  # one line, not DuckDB's multi-line advice
    assert isinstance(info.value.__cause__, duckdb.Error)
    # The environment variable sets the cap when none is given; the same rows fit under the default cap.
    monkeypatch.setenv(settings.BUILD_MEMORY_LIMIT_ENV, "1MB")
    with pytest.raises(store.BuildMemoryError, match="under its cap of 1MB"):
        store.write_build(build, {"attacks": _attacks(20_000, "m")})
    monkeypatch.delenv(settings.BUILD_MEMORY_LIMIT_ENV)
    store.write_build(build, {"attacks": _attacks(20_000, "m")})
    assert _count(build) == 20_000


def test_a_memory_cap_duckdb_cannot_take_is_refused(monkeypatch):
    from etl.errors import UserError

    monkeypatch.delenv(settings.BUILD_MEMORY_LIMIT_ENV, raising=False)
    assert store.check_memory_limit() == settings.BUILD_MEMORY_LIMIT
    assert store.check_memory_limit(" 2GB ") == "2GB"
    with pytest.raises(UserError, match="--build-memory-limit must be a size DuckDB understands.*'lots'"):
        store.check_memory_limit("lots")
    monkeypatch.setenv(settings.BUILD_MEMORY_LIMIT_ENV, "plenty")
    with pytest.raises(UserError, match=r"\$REDTEAM_RISK_BUILD_MEMORY_LIMIT must be a size .*'plenty'"):
        store.check_memory_limit()
