"""Summarise a cProfile dump of the cold ETL: own time per package, then the top functions.

``python -m bench.profile_summary PROF [OUT]``. Native work (torch kernels, numba-compiled code, DuckDB)
is charged to the Python function that called it, which is what tells which stage to optimise.
"""

from __future__ import annotations

import io
import pstats
import sys
from collections import defaultdict
from pathlib import Path

TOP = 40


def _package(filename: str) -> str:
    """A readable owner for a profiled file: the site-packages top-level name, the repo package, or builtins."""
    if filename.startswith(("~", "<")):
        return "builtins/native"
    parts = Path(filename).parts
    if "site-packages" in parts:
        i = parts.index("site-packages")
        return parts[i + 1].removesuffix(".py") if i + 1 < len(parts) else "site-packages"
    for mark in ("etl", "dashboard", "sql", "bench"):
        if mark in parts:
            return mark
    if "python3" in filename or "lib/python" in filename:
        return "stdlib"
    return "other"


def summary(prof: Path) -> str:
    stats = pstats.Stats(str(prof))
    total = stats.total_tt
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        by_package[_package(filename)] += tt
    out = io.StringIO()
    out.write(f"cProfile of the cold ETL: {total:.1f} s of profiled time (main thread)\n\n")
    out.write("Own time by package (native code is charged to its Python caller):\n")
    for name, tt in sorted(by_package.items(), key=lambda kv: -kv[1])[:20]:
        out.write(f"  {tt:8.1f} s  {100 * tt / total:5.1f} %  {name}\n")
    for key, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        out.write(f"\nTop {TOP} functions by {title}:\n")
        buffer = io.StringIO()
        pstats.Stats(str(prof), stream=buffer).strip_dirs().sort_stats(key).print_stats(TOP)
        text = buffer.getvalue()
        start = text.find("   ncalls")
        out.write(text[start:] if start >= 0 else text)
    return out.getvalue()


def write(prof: Path, out: Path) -> Path:
    out.write_text(summary(prof))
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1])
    if len(sys.argv) > 2:
        print(write(target, Path(sys.argv[2])))
    else:
        print(summary(target))
