"""bench/rss.py: the process-tree memory sampler used for the scale measurements (bench/results/*-scale-memory.md)."""

from __future__ import annotations

import json
import subprocess
import sys

from bench import rss


def test_the_peak_counts_a_childs_memory_and_the_exit_code_is_passed_on(tmp_path):
    # The measured command starts a child that holds 150 MiB of touched memory: the tree's peak must include it.
    child = "import time; a = bytearray(150 * 2**20); time.sleep(1.5)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}]); sys.exit(3)"
    code = rss.main(["--out", str(tmp_path), "--interval", "0.1", "--", sys.executable, "-c", parent])
    assert code == 3
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["exit_code"] == 3 and summary["peak_anon_mb"] >= 150 and summary["peak_rss_mb"] >= 150
    samples = [json.loads(line) for line in (tmp_path / "rss.jsonl").read_text().splitlines()]
    assert max(s["n_procs"] for s in samples) == 2 and all("load1" in s for s in samples)


def test_a_command_is_required(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench.rss", "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode != 0 and "no command" in result.stderr
