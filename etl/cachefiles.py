"""Files in the user's cache folder (reduce results, placement states): each written whole or not at all,
and only the newest few of a kind kept."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_whole(path: Path, write: Callable[[BinaryIO], None], keep: int) -> None:
    """Write ``path`` through ``write(fh)`` into a hidden temporary file renamed into place, so a reader
    never sees a partial file; then delete all but the ``keep`` most recently used files with the same
    suffix in that folder. Raises ``OSError`` (a caller in the cache treats it as "not cached")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    for old in sorted(path.parent.glob(f"*{path.suffix}"), key=_mtime, reverse=True)[keep:]:
        old.unlink(missing_ok=True)


def touch(path: Path) -> None:
    """Mark ``path`` recently used, so it is deleted last."""
    try:
        os.utime(path)
    except OSError:
        pass


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed by a concurrent run meanwhile
        return 0.0
