"""A build that runs out of memory under the build database's DuckDB cap (--build-memory-limit) stops with one
clear line and leaves the published database as it was; a cap DuckDB cannot take is refused before any work; the
build database begun right after ingest (the turns are written then, store.begin_build) is removed when a later
stage fails.

As in test_place.py, the embedding model is the hashed word counts stand-in, so the real ETL runs in seconds.
"""

from __future__ import annotations

import hashlib

import pytest

from etl import embed, settings
from etl.demo import write_demo
from etl.errors import UserError
from etl.pipeline import run
from etl.store import BuildMemoryError
from tests.etl.test_place import HashEmbedder, _config, _runs


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_build_over_its_memory_cap_fails_clearly_and_keeps_the_published_database(tmp_path, monkeypatch):
    monkeypatch.setattr(embed, "Embedder", HashEmbedder)
    monkeypatch.delenv(settings.BUILD_MEMORY_LIMIT_ENV, raising=False)
    data = tmp_path / "demo.json"
    write_demo(data, rows=300, seed=0)
    db, cache = tmp_path / "out" / "risk.duckdb", tmp_path / "cache"
    first = run(_config([data], db, cache))
    before = _digest(db)
    with pytest.raises(BuildMemoryError) as info:
        run(_config([data], db, cache, reuse=False, build_memory_limit="2MB"))
    message = str(info.value)
    assert "ran out of memory under its cap of 2MB" in message and "the published database is unchanged" in message
    assert "--build-memory-limit" in message and "\n" not in message
    assert _digest(db) == before and [r["run_id"] for r in _runs(db)] == [first.run_id]
    # No partial build, spill folder or vector file left beside it.
    assert sorted(p.name for p in db.parent.iterdir()) == ["risk.duckdb"]
    # The same build under a cap that fits publishes, and records the cap it was given.
    second = run(_config([data], db, cache, reuse=False, build_memory_limit="512MB"))
    runs = _runs(db)
    assert [r["run_id"] for r in runs] == [first.run_id, second.run_id]
    assert runs[-1]["build_memory_limit"] == "512MB"


def test_a_run_failing_after_ingest_removes_the_build_it_began(tmp_path, monkeypatch):
    monkeypatch.setattr(embed, "Embedder", HashEmbedder)
    data = tmp_path / "demo.json"
    write_demo(data, rows=200, seed=1)
    db, cache = tmp_path / "out" / "risk.duckdb", tmp_path / "cache"
    run(_config([data], db, cache))
    before = _digest(db)
    # The embedding text names a column the input lacks: found by the embed stage, after the turns were written.
    with pytest.raises(UserError, match="names unknown column"):
        run(_config([data], db, cache, reuse=False, embed_text="no_such_column"))
    assert _digest(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["risk.duckdb"]


def test_a_bad_memory_cap_is_refused_before_ingest(tmp_path, monkeypatch):
    monkeypatch.delenv(settings.BUILD_MEMORY_LIMIT_ENV, raising=False)
    with pytest.raises(UserError, match="--build-memory-limit must be a size DuckDB understands"):
        run(_config([tmp_path / "missing.json"], tmp_path / "r.duckdb", tmp_path / "cache", build_memory_limit="lots"))
    assert not (tmp_path / "r.duckdb").exists()


def test_the_cli_takes_the_memory_cap(tmp_path):
    from typer.testing import CliRunner

    from etl.cli import app

    data = tmp_path / "demo.json"
    write_demo(data, rows=20, seed=0)
    result = CliRunner().invoke(app, ["etl", str(data), "--db", str(tmp_path / "r.duckdb"), "--no-progress",
                                      "--build-memory-limit", "lots"])
    assert result.exit_code != 0 and "--build-memory-limit must be a size DuckDB understands" in str(result.exception)
    assert not (tmp_path / "r.duckdb").exists()
