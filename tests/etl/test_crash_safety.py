"""A build killed at any stage, or stopped by a full disk, never damages the published database.

The kill tests run the real CLI (`python -m etl.cli etl`) in a subprocess on a 300-row demo file, watch its log
for "<stage>: start" and SIGKILL it right then; the published database must still be byte-identical to the first
build, only dot-prefixed build files may be left beside it, and the next run must clean them up and reuse the
embeddings the killed runs already cached.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from etl import store
from etl.demo import write_demo
from etl.pipeline import EtlConfig, run

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ROWS = 300
KILL_STAGES = ("ingest", "embed", "reduce", "cluster", "publish")
WAIT_SECONDS = 900  # generous bound for one stage to be reached on a loaded 2-core machine; never asserted on
EMBED_LINE = re.compile(r"redteam_risk\.embed embed: (\d+) texts, (\d+) from cache, (\d+) to embed")
# Runs the CLI with the build's finalize step announcing itself and pausing, so the kill lands inside
# store.write_build: the build file exists and holds every table, but is not yet checkpointed or published.
PAUSE_IN_WRITE = """
import sys, time
import etl.metrics
_materialize = etl.metrics.materialize
def _paused(con):
    print("test: inside write_build", file=sys.stderr, flush=True)
    time.sleep(600)
    _materialize(con)
etl.metrics.materialize = _paused
from etl.cli import main
sys.argv = ["redteam-risk"] + sys.argv[1:]
main()
"""


class Etl:
    """One `redteam-risk etl` subprocess whose stderr lines are read by a thread into a queue."""

    def __init__(self, args: list[str], pause_in_write: bool = False) -> None:
        head = [sys.executable, "-c", PAUSE_IN_WRITE] if pause_in_write else [sys.executable, "-m", "etl.cli"]
        self.proc = subprocess.Popen(
            [*head, "etl", *args, "--no-progress"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, needle: str) -> None:
        """Block until a stderr line contains ``needle``; fail if the process ends first."""
        while True:
            line = self._queue.get(timeout=WAIT_SECONDS)
            if line is None:
                self.proc.wait()
                tail = "\n".join(self.lines[-30:])
                pytest.fail(f"etl exited with {self.proc.returncode} before logging {needle!r}:\n{tail}")
            self.lines.append(line)
            if needle in line:
                return

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=60) == -signal.SIGKILL

    def finish(self) -> str:
        """Wait for a normal exit; returns the whole stderr."""
        self.proc.wait(timeout=WAIT_SECONDS)
        while (line := self._queue.get(timeout=60)) is not None:
            self.lines.append(line)
        log = "\n".join(self.lines)
        assert self.proc.returncode == 0, log[-3000:]
        return log


def _published(db: Path) -> tuple[list[str], int]:
    """(run ids, attack count) read the way the dashboard reads: the file ATTACHed read-only to a private DuckDB."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("attach ? as risk (read_only)", [str(db)])
        runs = [r[0] for r in con.execute("select run_id from risk.runs order by started_at").fetchall()]
        return runs, con.execute("select count(*) from risk.attacks").fetchone()[0]
    finally:
        con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(db: Path) -> list[str]:
    """Files beside the database other than it and its kept builds (``<db>.runs/``, complete files only)."""
    kept = db.parent / f"{db.name}.runs"
    partial = sorted(f"{kept.name}/{p.name}" for p in kept.iterdir() if not p.name.endswith(".duckdb")
                     or p.name.startswith(".")) if kept.is_dir() else []
    return sorted(p.name for p in db.parent.iterdir() if p.name not in (db.name, kept.name)) + partial


@pytest.fixture(scope="module")
def first_build(tmp_path_factory):
    """A published database of 300 demo rows (seed 3), a second input (seed 4) and a shared embedding cache."""
    root = tmp_path_factory.mktemp("crash")
    first, second = root / "first.json", root / "second.json"
    write_demo(first, rows=ROWS, seed=3)
    write_demo(second, rows=ROWS, seed=4)
    db, cache = root / "out" / "risk.duckdb", root / "cache"
    Etl([str(first), "--db", str(db), "--cache-dir", str(cache)]).finish()
    runs, count = _published(db)
    assert len(runs) == 1 and count == ROWS
    return {"db": db, "cache": cache, "first": first, "second": second, "run_id": runs[0]}


def test_kill_at_every_stage_keeps_published_database_and_next_run_recovers(first_build):
    db, cache = first_build["db"], first_build["cache"]
    args = [str(first_build["second"]), "--db", str(db), "--cache-dir", str(cache)]
    before = _digest(db)
    embedded_by_killed_runs = 0
    for stage in KILL_STAGES:
        etl = Etl(args, pause_in_write=stage == "publish")
        etl.wait_for(f"redteam_risk.pipeline {stage}: start")
        if stage == "publish":
            etl.wait_for("test: inside write_build")
            building = [p for p in db.parent.iterdir() if store.BUILD_MARKER in p.name]
            assert building and building[0].stat().st_size > 0, "the kill must land while the build file is written"
        etl.kill()
        for line in etl.lines:
            if m := EMBED_LINE.search(line):
                embedded_by_killed_runs += int(m.group(3))
                break

        assert _digest(db) == before, f"killed at {stage}: the published file changed"
        assert _published(db) == ([first_build["run_id"]], ROWS), f"killed at {stage}"
        # Nothing a reader could open by the published name is partial: extra files are private, dot-prefixed builds.
        assert all(name.startswith(f".{db.name}{store.BUILD_MARKER}") for name in _leftovers(db)), _leftovers(db)
        if stage == "publish":
            assert _leftovers(db), "the killed publish should have left its build file behind"

    assert embedded_by_killed_runs > 0, "a killed run should have embedded (and cached) the new texts"
    log = Etl(args).finish()
    assert _leftovers(db) == [], "the next run must remove the killed runs' build files"
    runs, count = _published(db)
    assert runs[0] == first_build["run_id"] and len(runs) == 2 and count == ROWS
    total, hits, to_embed = map(int, EMBED_LINE.search(log).groups())
    assert (hits, to_embed) == (total, 0), "the next run must reuse the embeddings cached by the killed runs"
    print(f"killed at {len(KILL_STAGES)} stages; killed runs embedded {embedded_by_killed_runs} texts; "
          f"next run: {hits} of {total} from cache")


@pytest.mark.parametrize("where", ["write", "replace"])
def test_full_disk_during_publish_keeps_old_database_and_removes_build(first_build, monkeypatch, where):
    db = first_build["db"]
    before = _digest(db)
    runs_before = _published(db)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "write":
        original_insert = store.insert_frame
        calls = []

        def insert_then_full(con, table, frame, *args):
            calls.append(table)
            if len(calls) > 1:  # the first table is written, then the disk fills up
                full()
            original_insert(con, table, frame, *args)

        monkeypatch.setattr(store, "insert_frame", insert_then_full)
    else:
        original_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if store.BUILD_MARKER in os.fspath(src):
                full()
            return original_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "replace", replace)

    config = EtlConfig(inputs=(first_build["first"],), db=db, cache_dir=first_build["cache"], progress=False,
                       reuse=False)  # a full build (the unchanged-input shortcut has its own test in test_reuse)
    with pytest.raises(OSError) as info:
        run(config)
    assert info.value.errno == errno.ENOSPC
    assert _digest(db) == before
    assert _published(db) == runs_before
    assert _leftovers(db) == [], "the failed build file must be removed"
