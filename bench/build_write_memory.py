"""``python -m bench.build_write_memory DB [--copies K] [--memory-limit 256MB] [--insert-rows 8192]``: the memory of
``etl.store.write_build`` alone. Reads the tables of a published database ``DB`` into polars frames, copies the
per-attack tables ``K`` times (attack ids suffixed ``~i``), writes a new build from them (to a temporary folder) with
the given DuckDB cap and slice size, and prints the peak RSS above the frames themselves (sampled every 0.05 s).
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import psutil

MB = 2**20
TABLES = ("attacks", "turns", "rejected_rows", "clusters", "themes", "runs", "attack_embeddings")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--memory-limit", default=None, help="DuckDB's cap (default: settings.BUILD_MEMORY_LIMIT)")
    parser.add_argument("--insert-rows", type=int, default=None, help="default: settings.BUILD_INSERT_ROWS")
    args = parser.parse_args(argv)

    from etl import metrics, settings, store

    if args.memory_limit:
        settings.BUILD_MEMORY_LIMIT = args.memory_limit
    if args.insert_rows:
        settings.BUILD_INSERT_ROWS = args.insert_rows
    con = duckdb.connect(str(args.db), read_only=True)
    try:
        frames = {name: con.sql(f"select * from {name}").pl() for name in TABLES}
    finally:
        con.close()
    for name in ("attacks", "turns", "attack_embeddings", "rejected_rows"):
        if frames[name].height:
            frames[name] = pl.concat([frames[name].with_columns(pl.col("attack_id") + f"~{i}")
                                      for i in range(args.copies)])
    gc.collect()
    proc = psutil.Process()
    base, peak, done = proc.memory_info().rss, [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = {"db": str(args.db), "copies": args.copies, "attacks": frames["attacks"].height,
           "memory_limit": settings.BUILD_MEMORY_LIMIT, "insert_rows": settings.BUILD_INSERT_ROWS}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            store.write_build(Path(tmp) / "build.duckdb", frames, finalize=metrics.materialize)
            out["error"] = None
        except duckdb.Error as exc:
            out["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        finally:
            done.set()
            sampler.join()
    out.update(seconds=round(time.perf_counter() - t0, 1), frames_rss_mb=round(base / MB),
               peak_above_frames_mb=round((peak[0] - base) / MB))
    print(json.dumps(out))
    return 0 if out["error"] is None else 1


if __name__ == "__main__":
    raise SystemExit(main())
