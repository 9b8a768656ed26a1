"""Fixtures of the SQL tests: the default known-cells database and the tool-output-like one (both from
``tests/fixture_db.py``, the one fixture factory) and read-only connections to them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.fixture_db import build_db, default_attacks, make_tables, write_fixture_db


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


@pytest.fixture(scope="session")
def tool_tables() -> dict[str, pl.DataFrame]:
    """The tool-output-like build of the fixture factory: model names, success flags, attack
    methods, source categories; no model_type, rating or harmlessness."""
    return make_tables(tool_like=True, is_demo=False)


@pytest.fixture(scope="session")
def tool_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture_db(tmp_path_factory.mktemp("sql-tool") / "tool.duckdb", tool_like=True, is_demo=False)


@pytest.fixture()
def tool_con(tool_db: Path):
    connection = duckdb.connect(str(tool_db), read_only=True)
    yield connection
    connection.close()
