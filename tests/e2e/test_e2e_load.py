"""The load harness (``python -m bench.load``) end to end on the fixture database: a real server, sessions at
once (real browsers, or clients speaking Streamlit's websocket protocol), every visit completed and counted, an
error page reported as an error, memory read. Numbers are not asserted (wall-clock)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from tests.system_packages import require

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def test_the_load_harness_holds_concurrent_sessions_and_reports_them(e2e_db: Path, tmp_path: Path):
    require("chromium")
    pytest.importorskip("playwright.async_api", reason="Playwright is not installed (pip install playwright)")
    pytest.importorskip("psutil", reason="psutil is not installed (the [bench] extra)")
    out = tmp_path / "load.json"
    env = {k: v for k, v in os.environ.items() if k != "REDTEAM_RISK_PASSWORD"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", "--db", str(e2e_db), "--sessions", "2", "--rounds", "1",
         "--pages", "overview,attack_map,explorer", "--client", "browser", "--out", str(out),
         "--log", str(tmp_path / "streamlit.log")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["errors"] == [] and result["visits"] == 2 * 3
    assert set(result["per_page"]) == {"overview", "attack_map", "explorer"}
    assert 0 < result["p50_s"] <= result["p95_s"]
    assert result["server_rss_mb_before"] > 50 and result["server_rss_mb_after"] > 0


def _harness(*args: str, tmp_path: Path) -> dict:
    out = tmp_path / "load.json"
    env = {k: v for k, v in os.environ.items() if k != "REDTEAM_RISK_PASSWORD"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-m", "bench.load", *args, "--out", str(out),
                           "--log", str(tmp_path / "streamlit.log")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def test_websocket_sessions_complete_their_pages_with_the_pages_content(e2e_db: Path, tmp_path: Path):
    pytest.importorskip("psutil", reason="psutil is not installed (the [bench] extra)")
    result = _harness("--db", str(e2e_db), "--client", "ws", "--sessions", "2", "--rounds", "1",
                      "--pages", "overview,attack_map", tmp_path=tmp_path)
    assert result["client"] == "ws" and result["errors"] == [] and result["visits"] == 2 * 2
    overview, attack_map = result["per_page"]["overview"], result["per_page"]["attack_map"]
    # what the browser shows: the headline metrics and the report buttons; the map as a plotly chart
    assert overview["elements"]["metric"] >= 4 and overview["elements"]["download_button"] == 5
    assert attack_map["elements"]["plotly_chart"] >= 1
    assert overview["mb_p50"] > 0 and attack_map["mb_p50"] > 0
    assert result["server_rss_mb_before"] > 50


def test_a_page_that_raises_is_reported_as_an_error(e2e_db: Path, tmp_path: Path):
    from bench import load

    broken = tmp_path / "broken.duckdb"  # the Data & runs page's rejection query fails on it
    shutil.copy(e2e_db, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute("alter table rejected_rows rename column reason to why")
    server, url = load.start_server(broken, tmp_path / "streamlit.log")

    async def sessions() -> tuple[list, list]:
        results, errors = [], []
        finished, hold = asyncio.Queue(), asyncio.Event()
        hold.set()
        await asyncio.gather(*(load.ws_session(url, ("overview", "data_runs"), 1, i, results, errors, finished, hold)
                               for i in range(2)))
        return results, errors

    try:
        # a thread of its own: an earlier Playwright (sync API) test in this worker may leave an event loop running
        with ThreadPoolExecutor(max_workers=1) as pool:
            results, errors = pool.submit(asyncio.run, sessions()).result()
    finally:
        load.stop_server(server)
    # session 0 opens at Data & runs and stops there; session 1 opens at the Overview, then fails on Data & runs
    assert sorted(e.split(":")[0] for e in errors) == ["data_runs", "open data_runs"]
    assert all("exception" in e for e in errors)
    assert [(r["page"], r["first"]) for r in results] == [("overview", True), ("overview", False)]
    assert all(r["messages"] > 10 and r["elements"]["metric"] >= 4 for r in results)
