"""Real-browser fixtures: the dashboard served by ``redteam-risk dashboard``'s command on 127.0.0.1 over the
fixture database, started outside the repository as a service is, driven by Debian's chromium through
Playwright. Skipped with a reason when chromium or Playwright is absent (``playwright install`` cannot download
browsers here; the system chromium is used instead)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl import cli
from tests.fixture_db import write_fixture_db
from tests.system_packages import require

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 90  # seconds for streamlit to answer its health check (2 shared cores)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db: Path, env_extra: dict[str, str], log_path: Path, cwd: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDTEAM_RISK_PASSWORD"}
    env.update({"REDTEAM_RISK_DB": str(db), "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                                      env.get("PYTHONPATH")])),
                **env_extra})
    # `redteam-risk dashboard`'s own command, started outside the repository as a service is: only the settings
    # shipped with the package apply (no .streamlit/ in the working directory).
    cmd = cli.streamlit_command("127.0.0.1", port)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start in {START_TIMEOUT} s: {log_path.read_text()[-2000:]}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def e2e_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture_db(tmp_path_factory.mktemp("e2e") / "risk.duckdb")


@pytest.fixture(scope="session")
def server(e2e_db: Path, artifacts: Path) -> Iterator[str]:
    """Base URL of a dashboard without a password."""
    yield from _serve(e2e_db, {}, artifacts / "streamlit.log", e2e_db.parent)


@pytest.fixture(scope="session")
def tool_server(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[str]:
    """Base URL of a dashboard (no password) over the tool-output-like fixture: model names and success flags,
    no intervention, rating or harmlessness."""
    db = write_fixture_db(tmp_path_factory.mktemp("e2e-tool") / "tool.duckdb", tool_like=True, is_demo=False)
    yield from _serve(db, {}, artifacts / "streamlit-tool.log", db.parent)


@pytest.fixture(scope="session")
def locked_server(e2e_db: Path, artifacts: Path) -> Iterator[str]:
    """Base URL of a dashboard protected by the password ``e2e-secret``."""
    yield from _serve(e2e_db, {"REDTEAM_RISK_PASSWORD": "e2e-secret"}, artifacts / "streamlit-locked.log",
                      e2e_db.parent)


@pytest.fixture(scope="session")
def browser():
    require("chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    """A fresh browser page (1400×1000) that records every JS dialog (alert/confirm) it sees."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.dialogs = []

    def on_dialog(dialog) -> None:
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
