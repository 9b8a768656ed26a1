"""Settings declared once: (name, default, help). The CLI options and docs are generated from these."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_EMBED_TEXT = "task_description+attack_text"
DEFAULT_MAX_REJECT_RATE = 0.5
DEFAULT_SEED = 0
DEFAULT_BATCH_SIZE = 64
# float32: bfloat16 ("auto" on CPUs with native bfloat16) embeds 1.7x faster but made clusters less stable across
# UMAP seeds (ARI 0.90 vs 0.94 on the demo), beyond the 0.01 a faster embedder may cost (docs/performance.md).
DEFAULT_EMBED_PRECISION = "float32"
# The embedding backend: "torch" (sentence-transformers on PyTorch, float32 unless --embed-precision says otherwise),
# "onnx" (the same model exported once to ONNX, run by ONNX Runtime) or "onnx-int8" (its dynamically quantised copy).
# The default moves only when a backend keeps cosine >= 0.999 to float32 PyTorch and quality within 0.01
# (docs/performance.md).
EMBEDDING_BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_EMBEDDING_BACKEND = "torch"
# Above this many rows UMAP and HDBSCAN are fitted on a stratified sample of this size and the other rows placed on
# it (etl/place.py); None fits every row. On the 38,961-row demo a 20,000-row sample kept NMI within 0.01 of the full
# fit (0.960 vs 0.961) and a 10,000-row one did not (0.942); 40,000 keeps twice that margin and leaves every input up
# to the demo's size fitted in full (docs/performance.md, "Fit on a sample").
DEFAULT_FIT_SAMPLE: int | None = 40_000
# Rows of 384-d vectors a build reads from its vector file at once (placement, themes, the attack_embeddings write).
VECTOR_CHUNK_ROWS = 65_536
# Writing the build database (etl/store.py write_build): frames are inserted this many rows at a time (so only one
# slice of a frame is converted to Arrow at once), each table is checkpointed to disk once written, and DuckDB's
# buffer pool is capped at BUILD_MEMORY_LIMIT (it spills to ``<build>.tmp`` beyond it) instead of its default of 80 %
# of the machine's memory, so the tables it has written do not stay resident. Measured on a 40k-row build's tables
# copied 1, 4 and 8 times (bench/results/2026-11-30-scale-memory.md): write_build's peak above its frames was 243,
# 489 MB uncapped and 140, 279, 285 MB with these values (299 MB at 25x, 1M attacks): flat above ~160k rows; the
# publish ~1.5x slower. 128MB failed with DuckDB's out-of-memory error at 4x (the primary-key indexes stay in memory).
# Inputs much larger than measured can still exceed the cap (DuckDB's out-of-memory error, shown as
# etl.store.BuildMemoryError): raise it with --build-memory-limit or $REDTEAM_RISK_BUILD_MEMORY_LIMIT
# (``build_memory_limit``).
BUILD_INSERT_ROWS = 8_192
BUILD_MEMORY_LIMIT = "256MB"
BUILD_MEMORY_LIMIT_ENV = "REDTEAM_RISK_BUILD_MEMORY_LIMIT"
MIN_FIT_SAMPLE = 100  # a smaller sample cannot carry a map and clusters for the rows placed on it
DEFAULT_RECLUSTER_SHARE = 0.10  # above this share of new (or removed) rows since the last fit, refit the map
DEFAULT_KEEP_RUNS = 2  # published builds kept in <db>.runs/ for comparing runs (etl/store.py); 0 keeps none


def build_memory_limit(explicit: str | None = None) -> str:
    """DuckDB's memory cap while a build database is written (a DuckDB size such as "256MB" or "2GB"): the explicit
    ``--build-memory-limit``, then ``$REDTEAM_RISK_BUILD_MEMORY_LIMIT``, then ``BUILD_MEMORY_LIMIT``."""
    return (explicit or os.environ.get(BUILD_MEMORY_LIMIT_ENV) or BUILD_MEMORY_LIMIT).strip()


def cache_dir(explicit: Path | None = None) -> Path:
    """Where embeddings (and numba's compiled code, unless NUMBA_CACHE_DIR is set) are cached.

    Order: the explicit ``--cache-dir``, then ``$REDTEAM_RISK_CACHE``, then ``$XDG_CACHE_HOME/redteam-risk``
    (``~/.cache/redteam-risk``).
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("REDTEAM_RISK_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "redteam-risk"
