"""Timing of the analysts' annotations on a published database (numbers, never pass/fail; docs/annotations.md).

    python -m bench.annotations_timing --db data/demo/risk.duckdb

Copies the database to a temporary folder (nothing is written beside the original), then times: 1,000 attack
corrections written to the store (3 bulk calls, then 1,000 single edits), loading them into the query overlay,
and ``Queries.priority_areas`` before and after.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from annotations.store import AnnotationStore
from sql.database import Queries, open_read_only
from sql.filters import Filters


def _median(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annotations-timing-") as folder:
        db = Path(folder) / "risk.duckdb"
        shutil.copyfile(args.db, db)
        q = Queries(open_read_only(db))
        ids = q.sql("select attack_id from attacks order by attack_id")["attack_id"].to_list()
        themes = q.sql("select theme from themes order by theme")["theme"].to_list()
        print(f"attacks: {len(ids)}")
        q.priority_areas(Filters())
        print(f"priority_areas warm, no corrections: {_median(lambda: q.priority_areas(Filters())):.3f} s")
        store = AnnotationStore.for_database(db)
        t = time.perf_counter()
        store.database_facts()
        print(f"first store use (reads the ids it validates against): {time.perf_counter() - t:.3f} s")
        step = max(len(ids) // 1000, 1)
        bulk, single = ids[::step][:1000], ids[step // 2::step][:1000]
        t = time.perf_counter()
        store.set_attack_theme(bulk[:500], themes[0], user="bench")
        store.set_attack_success(bulk[500:800], False, user="bench")
        store.set_attack_exclusion(bulk[800:], "duplicate", user="bench")
        print(f"1,000 corrections, 3 bulk calls: {time.perf_counter() - t:.3f} s")
        t = time.perf_counter()
        for attack_id in single:
            store.set_attack_theme([attack_id], themes[1], user="bench")
        print(f"1,000 corrections, one call each: {time.perf_counter() - t:.3f} s")
        t = time.perf_counter()
        q.refresh_annotations()
        print(f"overlay refresh ({store.attack_corrections().height} corrections): {time.perf_counter() - t:.3f} s")
        t = time.perf_counter()
        q.priority_areas(Filters())
        print(f"first priority_areas after: {time.perf_counter() - t:.3f} s")
        print(f"priority_areas warm, with corrections: {_median(lambda: q.priority_areas(Filters())):.3f} s")
        print(f"refresh when unchanged: {1000 * _median(q.refresh_annotations):.1f} ms")


if __name__ == "__main__":
    main()
