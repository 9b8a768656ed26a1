"""Fixtures of the SQL tests: the default synthetic database (see fixture_db.py) and a connection to it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.sql.fixture_db import build_db, default_attacks


@pytest.fixture(scope="session")
def attacks_frame() -> pl.DataFrame:
    """The default fixture's attacks (4 themes × 4 model types × 3 sizes × 12, plus 3 flagged duplicates)."""
    return default_attacks()


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory: pytest.TempPathFactory, attacks_frame: pl.DataFrame) -> Path:
    return build_db(tmp_path_factory.mktemp("sql") / "fixture.duckdb", attacks_frame)


@pytest.fixture()
def con(fixture_db: Path):
    connection = duckdb.connect(str(fixture_db), read_only=True)
    yield connection
    connection.close()
