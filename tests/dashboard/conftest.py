"""Dashboard fixtures: one small fixture database per session and an AppTest factory pointed at it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.fixture_db import write_fixture_db

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TIMEOUT = 60  # seconds per script run; generous because other processes share the 2 cores


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default fixture database (480 attacks + 2 hostile records, demo flag on)."""
    return write_fixture_db(tmp_path_factory.mktemp("dashboard") / "risk.duckdb")


@pytest.fixture(scope="session")
def tool_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tool-output-like fixture database (model names, success flags, attack methods, source categories;
    no model_type, rating or harmlessness)."""
    return write_fixture_db(tmp_path_factory.mktemp("dashboard-tool") / "tool.duckdb", tool_like=True,
                            is_demo=False)


@pytest.fixture()
def app(fixture_db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """``app(**query_params)``: a fresh AppTest of dashboard/app.py on the fixture database, not yet run."""
    return _app_factory(fixture_db, monkeypatch)


@pytest.fixture()
def tool_app(tool_db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Like ``app``, on the tool-output-like database."""
    return _app_factory(tool_db, monkeypatch)


def _app_factory(db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    monkeypatch.setenv("REDTEAM_RISK_DB", str(db))
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
