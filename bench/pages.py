"""``python -m bench.pages --db PATH [--repeat 3] [--pages attack_map,overview]``: each dashboard page's time to
run once its caches are warm, and the bytes the attack map sends, on one database.

Pages run in-process through Streamlit's ``AppTest`` (the page script and every query, no browser): the first
run fills the caches ("cold", includes opening the database), then ``--repeat`` reruns of the same page are
timed and the median is "warm" — what a second visitor, or the same one rerunning the page, waits for on the
server. The map's payload is the JSON of its figure as Streamlit sends it (``plotly_chart`` spec), in MB
(10^6 bytes). Browser rendering is not included: ``python -m bench.load`` measures it in a real browser.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
PAGES = ("overview", "attack_map", "themes_models", "scaling_interventions", "priorities", "explorer", "data_runs")
TIMEOUT = 600  # seconds for one run of a page (a cold map query on a million rows on a busy machine)


def _open(page: str):
    """An AppTest on ``page``, not yet run there (the overview is the app's first page: nothing run yet)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if page != "overview":
        at.run()
        at.switch_page(f"app_pages/{page}.py")
    return at


def _run(at) -> float:
    t0 = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"the page raised: {[e.value for e in at.exception]}")
    return seconds


def measure(db: Path, pages: tuple[str, ...] = PAGES, repeat: int = 3, layer: str | None = None) -> list[dict]:
    """One dict per page: page, cold_s, warm_s (median of ``repeat``), and for the map payload_mb, points."""
    os.environ["REDTEAM_RISK_DB"] = str(db)
    out = []
    for page in pages:
        at = _open(page)
        cold = _run(at)
        if page == "attack_map" and layer:
            at.radio(key="map_layer").set_value(layer)
            cold += _run(at)
        warm = statistics.median(_run(at) for _ in range(repeat))
        row = {"page": page, "cold_s": round(cold, 3), "warm_s": round(warm, 3)}
        if page == "attack_map":
            specs = [c.proto.spec for c in at.get("plotly_chart")]
            row["payload_mb"] = round(sum(len(s.encode()) for s in specs) / 1e6, 3)
            traces = [t for s in specs for t in json.loads(s)["data"]]
            row["points"] = sum(len(t.get("hovertext") or ()) for t in traces if t["type"] == "scattergl")
            row["layer"] = layer or "points"
        out.append(row)
        print(json.dumps(row), flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    parser.add_argument("--layer", choices=("points", "density"), help="the attack map's layer (default points)")
    args = parser.parse_args(argv)
    pages = tuple(p for p in args.pages.split(",") if p)
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        parser.error(f"unknown pages {unknown}; choose from {', '.join(PAGES)}")
    if not args.db.is_file():
        parser.error(f"{args.db} does not exist")
    measure(args.db, pages, max(1, args.repeat), args.layer)


if __name__ == "__main__":
    main()
