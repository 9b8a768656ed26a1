"""Shared fixtures: paths to ../shared data (skipping with a reason when absent) and isolated caches."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"

# Set before any test module imports sentence-transformers or numba. Tests never write to the user's cache;
# numba's compiled code goes to one folder shared by test processes so only the first pays for compilation.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("REDTEAM_RISK_CACHE", tempfile.mkdtemp(prefix="redteam-risk-test-cache-"))
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".pytest_cache" / "numba"))


def shared_file(relative: str) -> Path:
    """A file under ../shared/data, or skip the test with a reason when it is absent (a user's machine)."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared holds the real test data only on CI and dev machines")
    return path


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.system_packages("chromium", …)``: skip naming the missing Debian packages
    (``tests/system_packages.py``; on CI, fail)."""
    from tests.system_packages import require

    for marker in item.iter_markers("system_packages"):
        require(*marker.args)
