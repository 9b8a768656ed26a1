"""--engine ray builds the same database as the local engine, on a local Ray cluster with 2 CPUs (2 model
actors), and a bad input or a lost worker fails with a clear error and leaves the published database alone.

Builds: local and ray from a cold cache (embedding through Ray Data, ingest tasks), then both again with a
second and a duplicated input (placement as Ray tasks; duplicates across files renumbered by the driver); and both
fitted on a sample with the other rows placed in several small chunks (one Ray task each, a bounded number in
flight).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

ray = pytest.importorskip("ray", reason="the Ray engine's tests need ray (pip install 'redteam-risk[ray]')")

from etl import embed, place  # noqa: E402
from etl.demo import write_demo  # noqa: E402
from etl.engines import ray_engine  # noqa: E402
from etl.errors import UserError  # noqa: E402
from etl.pipeline import EtlConfig, run  # noqa: E402

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ROWS = 300
WAIT_SECONDS = 900  # generous bound for a loaded 2-core machine; never asserted on


@pytest.fixture(scope="module", autouse=True)
def small_calls_on_ray():
    """Send the attacks' texts (300 here) to the actors; the theme stage's ~550 taxonomy texts too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDTEAM_RISK_RAY_MIN_TEXTS", "256")  # for the CLI subprocesses
        mp.setattr(ray_engine, "MIN_RAY_TEXTS", 256)
        yield


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance with 2 CPUs: the engine's 2 embedding actors (1 CPU each), tasks in between."""
    if ray.is_initialized():
        ray.shutdown()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=300 * 1024**2, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray-inputs")
    first, second, copy = root / "first.json", root / "second.json", root / "first-again.json"
    write_demo(first, rows=ROWS, seed=3)
    write_demo(second, rows=20, seed=4)
    shutil.copyfile(first, copy)  # every row a duplicate of one in an earlier file
    return {"first": first, "more": (first, second, copy)}


@pytest.fixture(scope="module")
def local_build(inputs, tmp_path_factory):
    """The local engine's build of the first input and its cache (tests copy them before changing them)."""
    root = tmp_path_factory.mktemp("ray-local")
    db, cache = root / "risk.duckdb", root / "cache"
    run(EtlConfig(inputs=(inputs["first"],), db=db, cache_dir=cache, progress=False))
    return db, cache


def _copy_build(local_build, to: Path) -> tuple[Path, Path]:
    db, cache = local_build
    (to / "out").mkdir(parents=True)
    shutil.copyfile(db, to / "out" / db.name)
    shutil.copytree(cache, to / "cache")
    return to / "out" / db.name, to / "cache"


def _tables(db: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                           "where table_type = 'BASE TABLE' order by 1").fetchall()]
        out = {}
        for name in names:
            result = con.execute(f'select * from "{name}"')
            rows = result.fetchall()
            out[name] = pl.DataFrame(rows, schema=[d[0] for d in result.description], orient="row",
                                     infer_schema_length=None)
        return out
    finally:
        con.close()


def _build(inputs, db: Path, cache: Path, engine: str) -> dict:
    run(EtlConfig(inputs=tuple(inputs), db=db, cache_dir=cache, progress=False, engine=engine))
    return _tables(db)


def _assert_same_database(local: dict, remote: dict) -> None:
    assert sorted(local) == sorted(remote)
    for name in local:
        if name == "runs":
            continue
        assert_frame_equal(local[name], remote[name], check_exact=True), name
    assert local["attacks"].height > 0 and local["priority_areas"].height > 0


def _parameters(tables: dict) -> dict:
    return json.loads(tables["runs"].sort("started_at")["parameters"][-1])


def test_ray_engine_builds_the_same_database_as_local(ray_cluster, inputs, local_build, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="redteam_risk")
    local_db, local_cache = _copy_build(local_build, tmp_path / "local")
    ray_db, ray_cache = tmp_path / "ray" / "risk.duckdb", tmp_path / "cache-ray"

    # Full build from a cold cache: ingest tasks, embedding on 2 Ray Data actors, fit on the driver.
    local = _tables(local_db)
    remote = _build([inputs["first"]], ray_db, ray_cache, "ray")
    assert "on 2 actor(s)" in caplog.text  # the attacks' texts went to the cluster, not the driver's model
    _assert_same_database(local, remote)
    assert _parameters(local)["engine"] == "local" and _parameters(remote)["engine"] == "ray"
    # The driver filled its own cache with the actors' vectors: equal to the local engine's.
    texts = remote["attacks"]["embed_text"].to_list()
    local_vectors = embed.Embedder(None, local_cache, progress=False).encode(texts)
    ray_embedder = embed.Embedder(None, ray_cache, progress=False)
    ray_vectors = ray_embedder.encode(texts)
    assert ray_embedder.stats.misses == 0
    np.testing.assert_allclose(ray_vectors, local_vectors, atol=1e-5, rtol=0)

    # Incremental: new rows placed on the fit (a Ray task), a whole file of duplicates across files.
    local = _build(inputs["more"], local_db, local_cache, "local")
    remote = _build(inputs["more"], ray_db, ray_cache, "ray")
    assert _parameters(remote)["placement"]["mode"] != "full"
    assert _parameters(remote)["placement"]["mode"] == _parameters(local)["placement"]["mode"]
    assert remote["attacks"].height == 2 * ROWS + 20
    assert remote["attacks"]["is_duplicate"].sum() == ROWS
    _assert_same_database(local, remote)
    local_inputs = json.loads(local["runs"].sort("started_at")["inputs"][-1])
    remote_inputs = json.loads(remote["runs"].sort("started_at")["inputs"][-1])
    assert local_inputs == remote_inputs and remote_inputs[2]["n_duplicates"] == ROWS


SAMPLE, CHUNK, IN_FLIGHT = 150, 40, 2  # 150 of the 300 rows placed in 4 chunks, at most 2 submitted at once


def test_sample_fit_placed_in_chunks_on_ray_equals_local(ray_cluster, local_build, inputs, tmp_path, caplog,
                                                         monkeypatch):
    """--fit-sample on both engines, from the same warm cache: the rows outside the sample are placed in chunks of
    CHUNK texts, one Ray task each with at most IN_FLIGHT submitted and not collected; same database as local."""
    caplog.set_level(logging.INFO, logger="redteam_risk")
    monkeypatch.setattr(place, "CHUNK_ROWS", CHUNK)  # read on the driver, which cuts the chunks
    monkeypatch.setattr(ray_engine, "PLACE_MAX_IN_FLIGHT", IN_FLIGHT)
    outstanding: list[int] = []  # chunks submitted and not yet collected, seen at each submission
    submit_chunks = ray_engine.RayEngine.place_chunks

    def watched(self, model, chunks, read):
        state = {"read": 0, "got": 0}

        def counting_read(lo, hi):
            state["read"] += 1
            outstanding.append(state["read"] - state["got"])
            return read(lo, hi)

        for item in submit_chunks(self, model, chunks, counting_read):
            state["got"] += 1
            yield item

    monkeypatch.setattr(ray_engine.RayEngine, "place_chunks", watched)
    tables = {}
    for engine in ("local", "ray"):
        db, cache = _copy_build(local_build, tmp_path / engine)
        db.unlink()  # a fresh build (no earlier fit to place on) from the warm cache: no embedding
        run(EtlConfig(inputs=(inputs["first"],), db=db, cache_dir=cache, progress=False, engine=engine,
                      fit_sample=SAMPLE))
        tables[engine] = _tables(db)
    local, remote = tables["local"], tables["ray"]
    placement = _parameters(remote)["placement"]
    assert placement["mode"] == "sample" and placement["fit_rows"] == SAMPLE
    assert placement["placed_texts"] > 2 * CHUNK  # so at least 3 chunks
    assert {**placement, "base_run": None} == {**_parameters(local)["placement"], "base_run": None}  # run ids differ
    n_chunks = -(-placement["placed_texts"] // CHUNK)
    assert len(outstanding) == n_chunks and max(outstanding) == IN_FLIGHT
    assert f"placed {n_chunks} chunk(s) as tasks (at most {IN_FLIGHT} in flight)" in caplog.text
    _assert_same_database(local, remote)


def test_bad_input_on_a_worker_is_a_clear_error_and_keeps_the_database(ray_cluster, inputs, local_build, tmp_path):
    db, cache = _copy_build(local_build, tmp_path)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt_id,score\n1,0.5\n", encoding="utf-8")
    with pytest.raises(UserError, match="has no attack_text or transcript column") as info:
        run(EtlConfig(inputs=(inputs["first"], bad), db=db, cache_dir=cache, progress=False, engine="ray"))
    assert "Traceback" not in str(info.value) and "Ray" not in str(info.value)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["risk.duckdb"]


def test_unreachable_cluster_is_a_clear_error(inputs, tmp_path):
    db = tmp_path / "risk.duckdb"
    proc = subprocess.run([sys.executable, "-m", "etl.cli", "etl", str(inputs["first"]), "--db", str(db),
                           "--no-progress", "--engine", "ray", "--ray-address", "127.0.0.1:1"],
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=WAIT_SECONDS)
    assert proc.returncode != 0
    assert "could not start or reach the Ray cluster at '127.0.0.1:1'" in proc.stderr, proc.stderr[-3000:]
    assert not db.exists()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "RAY_USAGE_STATS_ENABLED": "0"}


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - out
        out |= frontier
    return out


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _embedding_actors(pid: int) -> list[int]:
    found = []
    for child in _descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"_EmbedActor" in cmdline:
            found.append(child)
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the embedding actor's process in /proc")
def test_worker_killed_while_embedding_fails_clearly_and_keeps_the_database(inputs, local_build, tmp_path):
    """The real CLI with its own local Ray instance; an embedding actor's process is SIGKILLed mid-build."""
    db, _ = _copy_build(local_build, tmp_path)
    env = _env()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    first = [sys.executable, "-m", "etl.cli", "etl", str(inputs["first"]), "--db", str(db), "--no-progress"]
    proc = subprocess.Popen([*first[:5], str(inputs["more"][1]), *first[5:], "--engine", "ray",
                             "--cache-dir", str(tmp_path / "cache-cold")],  # all 320 texts to embed
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
    killed = None
    deadline = time.monotonic() + WAIT_SECONDS
    while killed is None and proc.poll() is None and time.monotonic() < deadline:
        actors = _embedding_actors(proc.pid)
        if actors:
            killed, ray_processes = actors[0], _descendants(proc.pid)
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.2)
    assert killed is not None, "".join(err)[-3000:]
    proc.wait(timeout=WAIT_SECONDS)
    log = "".join(err)
    assert proc.returncode != 0, log[-3000:]
    assert "the Ray cluster failed while embedding" in log and "the published database is unchanged" in log
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["risk.duckdb"]
    # The engine shut its local Ray instance down: none of its processes outlives the build.
    deadline = time.monotonic() + 60
    while (alive := [p for p in ray_processes if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not alive
