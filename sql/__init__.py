"""SQL shipped with the package: ``schema/`` (tables), ``views/`` (metric views), ``queries/`` (named,
parameterised queries). One object per file; the file name is the object name."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read(kind: str, name: str) -> str:
    """Text of ``sql/<kind>/<name>.sql`` without a trailing semicolon."""
    return resources.files(__name__).joinpath(kind, f"{name}.sql").read_text(encoding="utf-8").strip().rstrip(";")


def names(kind: str) -> list[str]:
    """Object names in ``sql/<kind>/``, sorted."""
    folder = resources.files(__name__).joinpath(kind)
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".sql"))
