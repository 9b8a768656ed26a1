"""The load harness (``python -m bench.load``) end to end on the fixture database: a real server, real browser
sessions at once, every visit completed and counted, memory read. Numbers are not asserted (wall-clock)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
         "--pages", "overview,attack_map,explorer", "--out", str(out), "--log", str(tmp_path / "streamlit.log")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["errors"] == [] and result["visits"] == 2 * 3
    assert set(result["per_page"]) == {"overview", "attack_map", "explorer"}
    assert 0 < result["p50_s"] <= result["p95_s"]
    assert result["server_rss_mb_before"] > 50 and result["server_rss_mb_after"] > 0
