"""The unchanged-input shortcut: a rerun with the same inputs, settings and code republishes a copy of the
published build with one more run; any change that could alter the content rebuilds."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from etl import reuse
from etl.pipeline import EtlConfig, run

TOPICS = ["pick a lock", "make a fake id", "insult my coworker", "find a home address", "hotwire a car"]


def _write_input(path: Path, n: int = 30, extra: str = "") -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"attack_text": f"How do I {TOPICS[i % len(TOPICS)]}? variant {i}{extra}",
                                 "rating": i % 5, "model_type": "rlhf", "model_size": "52B"}) + "\n")
        fh.write("not json\n")  # one rejected row, to follow its attribution
    return path


def _config(tmp_path: Path, source: Path, **kw) -> EtlConfig:
    kw = {"cache_dir": tmp_path / "cache", **kw}
    return EtlConfig(inputs=(source,), db=tmp_path / "risk.duckdb", progress=False, **kw)


def _rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


@pytest.fixture()
def built(tmp_path):
    source = _write_input(tmp_path / "attacks.jsonl")
    first = run(_config(tmp_path, source))
    return tmp_path, source, first


def test_unchanged_rerun_republishes_a_copy_with_one_more_run(built):
    tmp_path, source, first = built
    db = tmp_path / "risk.duckdb"
    attacks = _rows(db, "select * from attacks order by attack_id")
    vectors = _rows(db, "select attack_id, vector from attack_embeddings order by attack_id")
    assert len(vectors) == 30 and {len(v) for _, v in vectors} == {384}
    second = run(_config(tmp_path, source, cache_dir=tmp_path / "another-cache"))  # cache location is not content
    assert second.reused_from == first.run_id and second.run_id != first.run_id
    assert set(second.stage_seconds) == {"reuse"}
    assert (second.n_read, second.n_loaded, second.n_rejected) == (first.n_read, first.n_loaded, first.n_rejected)
    assert second.n_clusters == first.n_clusters
    assert _rows(db, "select * from attacks order by attack_id") == attacks
    assert _rows(db, "select attack_id, vector from attack_embeddings order by attack_id") == vectors
    runs = _rows(db, "select run_id, status, n_loaded, json_extract_string(parameters, '$.reused_from') "
                     "from runs order by started_at")
    assert runs == [(first.run_id, "published", 30, None), (second.run_id, "published", 30, first.run_id)]
    # the build's rejected rows now belong to the latest run, as in any build
    assert _rows(db, "select distinct run_id from rejected_rows") == [(second.run_id,)]
    assert not list(tmp_path.glob(".risk.duckdb.building-*"))


def test_a_failed_republish_keeps_the_published_database(built, monkeypatch):
    import errno
    import os

    tmp_path, source, first = built
    db = tmp_path / "risk.duckdb"
    before = db.read_bytes()
    original = os.replace

    def full(src, dst, *args, **kwargs):
        if ".building-" in os.fspath(src):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError):
        run(_config(tmp_path, source))
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".risk")) == []


@pytest.mark.parametrize("change", ["input", "setting", "no_reuse"])
def test_a_change_that_can_alter_the_content_rebuilds(built, change):
    tmp_path, source, first = built
    config = _config(tmp_path, source)
    if change == "input":
        _write_input(source, extra=" (edited)")
    elif change == "setting":
        config = _config(tmp_path, source, success_threshold=1.5)
    else:
        config = _config(tmp_path, source, reuse=False)
    second = run(config)
    assert second.reused_from is None
    assert "ingest" in second.stage_seconds
    assert len(_rows(tmp_path / "risk.duckdb", "select * from runs")) == 2


def test_fingerprint_covers_inputs_settings_and_code(tmp_path, monkeypatch):
    source = _write_input(tmp_path / "a.jsonl")
    params = _config(tmp_path, source).parameters()

    def fp(**kw):
        args = {"parameters": params, "inputs": (source,), "precision": "float32", "taxonomy": None, "is_demo": False}
        return reuse.fingerprint(**{**args, **kw})

    base = fp()
    assert fp() == base
    assert fp(parameters={**params, "progress": False, "cache_dir": "/elsewhere"}) == base
    assert fp(parameters={**params, "engine": "ray", "ray_address": "auto"}) == base  # same database either way
    assert fp(parameters={**params, "seed": 1}) != base
    assert fp(precision="bfloat16") != base
    assert fp(is_demo=True) != base
    copy = tmp_path / "b.jsonl"
    copy.write_bytes(source.read_bytes())
    assert fp(inputs=(copy,)) != base  # the path is recorded in every attack row
    monkeypatch.setattr(reuse, "code_digest", lambda: "other code")
    assert fp() != base
