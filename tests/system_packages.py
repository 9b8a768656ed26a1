"""Tests that need a Debian package (etl/system_packages.py) skip naming it when it is missing — or fail on CI.

    @pytest.mark.system_packages("chromium", "poppler-utils")   # on a test (tests/conftest.py applies it)
    require("chromium")                                         # inside a test or fixture

With ``$REDTEAM_RISK_REQUIRE_SYSTEM_PACKAGES`` set (``.ci/run`` sets it after installing them) a missing package
fails the test instead: on CI nothing may be skipped for want of a package.
"""

from __future__ import annotations

import os

import pytest

from etl import system_packages

REQUIRE_ENV = "REDTEAM_RISK_REQUIRE_SYSTEM_PACKAGES"


def reason(names: tuple[str, ...]) -> str | None:
    """Why a test needing ``names`` cannot run here (the missing packages, what for, how to install), or None."""
    absent = system_packages.missing(names)
    if not absent:
        return None
    needs = "; ".join(f"{p.name}: {p.why}" for p in absent)
    command = " ".join(system_packages.install_command(absent, root=False))
    return f"missing Debian package {needs} (install: {command})"


def require(*names: str) -> None:
    """Skip the calling test (fail it when ``$REDTEAM_RISK_REQUIRE_SYSTEM_PACKAGES`` is set) unless every
    package of ``names`` is installed."""
    why = reason(names)
    if why is None:
        return
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{why}; {REQUIRE_ENV} is set, so nothing may be skipped", pytrace=False)
    pytest.skip(why)
