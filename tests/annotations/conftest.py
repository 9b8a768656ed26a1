"""Fixtures of the annotations tests: a published fixture database (``tests/fixture_db.py``), copied per test
so each test's store (``<db>.annotations.sqlite`` beside it) starts empty."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from tests.fixture_db import write_fixture_db


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture_db(tmp_path_factory.mktemp("annotations") / "fixture.duckdb")


@pytest.fixture()
def db(published: Path, tmp_path: Path) -> Path:
    """A private copy of the published fixture database (no annotations yet)."""
    target = tmp_path / "risk.duckdb"
    shutil.copyfile(published, target)
    return target


def raw(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` on the published file itself (read-only, no overlay)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
