"""A profile of a running dashboard server: what its threads spend their time on under load.

``python -m bench.server_profile OUT -- streamlit run ...`` runs Streamlit's CLI in this process with a
sampler thread that reads every thread's Python stack (``sys._current_frames``) every ``INTERVAL`` seconds.
cProfile alone sees only the thread it was started in, and Streamlit runs every script run in its own thread; a
sampler sees them all. Native work (DuckDB, protobuf, polars) is charged to the Python function that called it,
and so is the time a thread waits for the GIL: under concurrency the samples are wall time, not CPU. Samples of
threads that are only waiting (the event loop's ``select``, an idle worker's queue, a sleep) are dropped.

``bench.load --profile OUT`` starts the server this way and sends SIGUSR1 after its warm-up, which clears the
samples so far (imports, cold queries), so the profile shows the warm pages. With ``BENCH_CPROFILE=1`` in the
environment every script run is profiled with cProfile instead and merged into ``OUT.pstats``
(``ScriptProfiles``; read it with ``pstats``): deterministic, and the better guide to CPU.

OUT (JSON, rewritten every few seconds and at exit): samples per thread kind, per function its *own* samples
(innermost frame) and *inclusive* samples (anywhere on the stack), and the most frequent innermost stacks.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

INTERVAL = 0.005  # seconds between samples
TOP = 60
# Innermost frames of a thread that is waiting, not working (blocked in C: a queue, a sleep, a select).
IDLE = {("selectors.py", "select"), ("threading.py", "wait"), ("queue.py", "get"), ("base_events.py", "_run_once"),
        ("threading.py", "_wait_for_tstate_lock"), ("tasks.py", "sleep"), ("thread.py", "_worker"),
        ("polling_path_watcher.py", "task")}
DEPTH = 8  # innermost frames kept per stack


def _where(code) -> str:
    parts = Path(code.co_filename).parts
    short = "/".join(parts[parts.index("site-packages") + 1:] if "site-packages" in parts else parts[-2:])
    return f"{short}:{code.co_name}"


class Sampler:
    def __init__(self, out: Path):
        self.out = out
        self.own: Counter = Counter()
        self.inclusive: Counter = Counter()
        self.threads: Counter = Counter()
        self.stacks: Counter = Counter()
        self.samples = 0
        self._stop = threading.Event()

    def run(self) -> None:
        me = threading.get_ident()
        last_write = time.monotonic()
        while not self._stop.wait(INTERVAL):
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                leaf = (Path(frame.f_code.co_filename).name, frame.f_code.co_name)
                if leaf in IDLE:
                    continue
                self.samples += 1
                kind = names.get(ident, "?").split("-")[0].split(".")[0]
                self.threads[kind] += 1
                self.own[_where(frame.f_code)] += 1
                seen = set()
                stack = []
                while frame is not None:
                    where = _where(frame.f_code)
                    if len(stack) < DEPTH:
                        stack.append(where)
                    if where not in seen:
                        seen.add(where)
                        self.inclusive[where] += 1
                    frame = frame.f_back
                self.stacks[" < ".join(stack)] += 1
            if time.monotonic() - last_write > 5:
                self.write()
                last_write = time.monotonic()

    def write(self) -> None:
        self.out.write_text(json.dumps({
            "interval_s": INTERVAL, "busy_samples": self.samples, "threads": dict(self.threads.most_common()),
            "own": dict(self.own.most_common(TOP)), "inclusive": dict(self.inclusive.most_common(TOP)),
            "stacks": dict(self.stacks.most_common(TOP)),
        }, indent=1))

    def reset(self, *_) -> None:
        """Forget the samples so far (SIGUSR1: ``bench.load`` sends it after its warm-up)."""
        self.own, self.inclusive, self.threads, self.stacks = Counter(), Counter(), Counter(), Counter()
        self.samples = 0

    def stop(self) -> None:
        self._stop.set()
        self.write()


class ScriptProfiles:
    """``--cprofile``: every script run (``ScriptRunner._run_script_thread``) under its own ``cProfile``, merged
    into ``OUT.pstats`` after each run (deterministic, CPU-ish, for the script threads only; cProfile's overhead
    inflates many small Python calls)."""

    def __init__(self, out: Path):
        self.out = out.with_suffix(".pstats")
        self.lock = threading.Lock()
        self.stats = None
        self.active = True

    def install(self) -> None:
        import cProfile
        import pstats

        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

        original = ScriptRunner._run_script_thread
        profiles = self

        def profiled(runner) -> None:
            prof = cProfile.Profile()
            try:
                prof.runcall(original, runner)
            finally:
                with profiles.lock:
                    if profiles.active:
                        if profiles.stats is None:
                            profiles.stats = pstats.Stats(prof)
                        else:
                            profiles.stats.add(prof)
                        profiles.stats.dump_stats(profiles.out)

        ScriptRunner._run_script_thread = profiled

    def reset(self) -> None:
        with self.lock:
            self.stats = None
            self.out.unlink(missing_ok=True)


def main() -> None:
    out = Path(sys.argv[1])
    if sys.argv[2] != "--":
        raise SystemExit("usage: python -m bench.server_profile OUT -- MODULE ARGS... (e.g. streamlit run app.py)")
    if os.environ.get("BENCH_CPROFILE"):
        profiles = ScriptProfiles(out)
        profiles.install()
        signal.signal(signal.SIGUSR1, lambda *_: profiles.reset())
    else:
        sampler = Sampler(out)
        threading.Thread(target=sampler.run, name="sampler", daemon=True).start()
        atexit.register(sampler.stop)
        signal.signal(signal.SIGUSR1, sampler.reset)
    sys.argv = sys.argv[3:]  # the module's own: [module, args...]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
