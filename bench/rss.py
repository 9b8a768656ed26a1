"""Run one command and sample the memory of its whole process tree: ``python -m bench.rss --out DIR -- CMD…``.

Every ``--interval`` seconds (0.2 by default) it sums, over the command's process and all its descendants, the
resident set size (RSS, as ``ps`` shows it) and its anonymous part (``RssAnon`` of ``/proc/PID/status``: heap and
arrays, without file pages the kernel can drop, such as a memory-mapped file read once). It writes to ``DIR``:

- ``rss.jsonl``: one line per sample, ``{"t": seconds since start, "rss_mb", "anon_mb", "n_procs", "cpu_s": user +
  system CPU seconds of the tree so far (less inflated by other load than wall time), "load1"}``,
  written as it goes, so a run that is still going (or was killed) can be read;
- ``summary.json`` at the end: the peaks (and when they happened), wall and CPU seconds (CPU as last sampled, so
  up to one interval short), the exit code, the 1-minute load
  average at the start, every minute (``load1`` in the samples) and at the end, and the command.

The command's own output is not captured (redirect it yourself). Memory figures are not affected by other
processes on the machine; wall times are, hence the load averages beside them. MB = 2**20 bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

MB = 2**20


def _anon_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_memory(root: psutil.Process) -> tuple[int, int, int, float]:
    """(RSS bytes, anonymous RSS bytes, processes, CPU seconds) summed over ``root`` and its descendants."""
    rss = anon = count = 0
    cpu = 0.0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0, 0.0
    for proc in procs:
        try:
            rss += proc.memory_info().rss
            times = proc.cpu_times()
        except psutil.Error:
            continue
        cpu += times.user + times.system
        anon += _anon_bytes(proc.pid)
        count += 1
    return rss, anon, count, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for rss.jsonl and summary.json")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    proc = subprocess.Popen(command)
    root = psutil.Process(proc.pid)
    peak = {"rss_mb": 0.0, "rss_t": 0.0, "anon_mb": 0.0, "anon_t": 0.0}
    cpu_s = 0.0
    with open(args.out / "rss.jsonl", "w", encoding="utf-8") as log:
        while proc.poll() is None:
            rss, anon, count, cpu = tree_memory(root)
            t = round(time.perf_counter() - start, 2)
            cpu_s = max(cpu_s, cpu)  # a process that ended takes its seconds along: keep the last total seen
            sample = {"t": t, "rss_mb": round(rss / MB, 1), "anon_mb": round(anon / MB, 1), "n_procs": count,
                      "cpu_s": round(cpu, 1), "load1": round(os.getloadavg()[0], 2)}
            if sample["rss_mb"] > peak["rss_mb"]:
                peak["rss_mb"], peak["rss_t"] = sample["rss_mb"], t
            if sample["anon_mb"] > peak["anon_mb"]:
                peak["anon_mb"], peak["anon_t"] = sample["anon_mb"], t
            log.write(json.dumps(sample) + "\n")
            log.flush()
            time.sleep(args.interval)
    wall = time.perf_counter() - start
    summary = {"command": command, "exit_code": proc.returncode, "wall_s": round(wall, 1),
               "peak_rss_mb": peak["rss_mb"], "peak_rss_at_s": peak["rss_t"],
               "peak_anon_mb": peak["anon_mb"], "peak_anon_at_s": peak["anon_t"],
               "cpu_s": round(cpu_s, 1), "interval_s": args.interval, "load1_start": round(load_start, 2),
               "load1_end": round(os.getloadavg()[0], 2)}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary), file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
