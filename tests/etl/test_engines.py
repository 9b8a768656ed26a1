"""Choosing an engine: unknown names and a Ray address without the Ray engine are clear errors."""

from __future__ import annotations

import pytest

from etl.engines import LocalEngine, open_engine
from etl.errors import UserError


def test_local_is_the_default_engine():
    with open_engine() as engine:
        assert isinstance(engine, LocalEngine) and engine.name == "local"


def test_unknown_engine_and_stray_ray_address_are_user_errors():
    with pytest.raises(UserError, match="unknown engine 'spark'; use one of: local, ray"):
        with open_engine("spark"):
            pass
    with pytest.raises(UserError, match="--ray-address needs --engine ray"):
        with open_engine("local", "auto"):
            pass
