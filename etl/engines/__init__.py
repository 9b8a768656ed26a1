"""Where the heavy, parallel parts of a build run: ingest parsing, embedding and placement.

``local`` (the default) runs them in this process, as always. ``ray`` (etl/engines/ray_engine.py) runs them as
Ray tasks and actors on a local or remote Ray cluster; the UMAP/HDBSCAN fit, themes, metrics and the DuckDB
publish stay on the driver either way, so both engines build the same database.

An engine is opened for one build by :func:`open_engine` and closed when the build ends (Ray starts lazily, on
the first stage that needs it, so a republished unchanged build never starts it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from etl.errors import UserError

ENGINES = ("local", "ray")


class LocalEngine:
    """Every stage in this process (the stage modules' own functions)."""

    name = "local"

    def load(self, paths: list[Path], fmt: str, mapping: dict[str, str] | None, **options):
        from etl import sources

        return sources.load(paths, fmt, mapping, **options)

    def embedder(self, model: str | None, cache_dir: Path, *, progress: bool, precision: str,
                 backend: str = "torch"):
        from etl import embed

        return embed.Embedder(model, cache_dir, progress=progress, precision=precision, backend=backend)

    def place_chunks(self, model, chunks: list[tuple[int, int]], read: Callable[[int, int], np.ndarray]):
        """Placement's chunks (``etl.place.ChunkRunner``) on this process's threads."""
        from etl import place

        return place.place_chunks_in_threads(model, chunks, read)

    def close(self) -> None:
        pass


@contextmanager
def open_engine(name: str = "local", address: str | None = None) -> Iterator[LocalEngine]:
    """The engine ``name`` for one build, closed (a Ray instance it started shut down) when the block exits."""
    if name not in ENGINES:
        raise UserError(f"unknown engine {name!r}; use one of: {', '.join(ENGINES)}")
    if name == "local":
        if address is not None:
            raise UserError("--ray-address needs --engine ray")
        engine = LocalEngine()
    else:
        from etl.engines.ray_engine import RayEngine

        engine = RayEngine(address)
    try:
        yield engine
    finally:
        engine.close()
