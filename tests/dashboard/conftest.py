"""Dashboard fixtures: one small fixture database per session and an AppTest factory pointed at it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.dashboard.fixture_db import write_fixture_db

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TIMEOUT = 60  # seconds per script run; generous because other processes share the 2 cores


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default fixture database (480 attacks + 2 hostile records, demo flag on)."""
    return write_fixture_db(tmp_path_factory.mktemp("dashboard") / "risk.duckdb")


@pytest.fixture()
def app(fixture_db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """``app(**query_params)``: a fresh AppTest of dashboard/app.py on the fixture database, not yet run."""
    monkeypatch.setenv("REDTEAM_RISK_DB", str(fixture_db))
    monkeypatch.delenv("REDTEAM_RISK_PASSWORD", raising=False)

    def make(**query: str | list[str]) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.query_params.update(query)
        return at

    return make


@pytest.fixture()
def fresh_resources():
    """Clear process-wide resources (connections, the password rate limiter) before and after a test."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()
