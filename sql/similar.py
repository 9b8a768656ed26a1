"""Similar attacks: nearest neighbours by cosine similarity of the stored sentence embeddings.

The vectors come from the published database (``attack_embeddings``, written by the ETL), so no process that
asks ever loads an embedding model (torch): the query layer reads them once into a numpy matrix (float32, rows
L2-normalised) shared by every connection and thread on the same build, and a neighbour search is one
matrix-vector product over it (a few milliseconds at 40k attacks).

The loaded matrix is kept per build (the database file and its ``runs`` history, plus the ids of its vectors),
not per connection object: the dashboard opens one cursor per thread, and each of them needs the same matrix.
At most ``KEEP_BUILDS`` builds are kept (a new build replaces the old one in the dashboard).

Neighbours never include the attacks asked about, nor rows flagged ``is_duplicate`` (a re-loaded copy of an
attack that is already a candidate itself); they come from the whole database, whatever the filters.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import numpy as np

log = logging.getLogger("redteam_risk.similar")

KEEP_BUILDS = 2
MAX_NEIGHBOURS = 100


@dataclass(frozen=True)
class Vectors:
    """The embeddings of one build: ``matrix[i]`` (unit length, float32) is attack ``ids[i]``."""

    ids: tuple[str, ...]
    matrix: np.ndarray  # (n, d) float32, rows L2-normalised (a zero vector stays zero)
    candidate: np.ndarray  # (n,) bool: may be returned as a neighbour (not a flagged duplicate)
    row_of: dict[str, int]

    def rows(self, attack_ids: Iterable[str]) -> np.ndarray:
        """Row numbers of those ``attack_ids`` that have a vector (others are skipped)."""
        return np.array(sorted({self.row_of[a] for a in attack_ids if a in self.row_of}), dtype=np.int64)

    def nearest(self, query: np.ndarray, k: int, exclude: np.ndarray) -> list[tuple[str, float]]:
        """The ``k`` attacks most cosine-similar to ``query`` (any non-zero vector of dimension d), best first,
        as (attack_id, similarity); rows ``exclude`` and non-candidates left out. Ties: lower row first."""
        k = max(0, min(int(k), MAX_NEIGHBOURS))
        norm = float(np.linalg.norm(query))
        if k == 0 or len(self.ids) == 0 or not np.isfinite(norm) or norm == 0.0:
            return []
        scores = self.matrix @ (np.asarray(query, dtype=np.float32) / np.float32(norm))
        allowed = self.candidate.copy()
        allowed[exclude] = False
        rows = np.flatnonzero(allowed)
        if rows.size == 0:
            return []
        kept = scores[rows]
        return [(self.ids[rows[i]], float(kept[i])) for i in _top_k(kept, min(k, rows.size))]


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest ``scores``, highest first (ties: lower position first)."""
    part = np.argpartition(-scores, k - 1)[:k]
    threshold = scores[part].min()
    tied = np.flatnonzero(scores >= threshold)  # every position that could be in the top k, so ties are stable
    return tied[np.lexsort((tied, -scores[tied]))][:k]


_cache: OrderedDict[tuple, Vectors] = OrderedDict()
_lock = threading.Lock()


def vectors(con: duckdb.DuckDBPyConnection) -> Vectors:
    """The embeddings of the database ``con`` uses (loaded once per build, then shared)."""
    key = _build_key(con)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        loaded = _load(con)
        _cache[key] = loaded
        while len(_cache) > KEEP_BUILDS:
            _cache.popitem(last=False)
        return loaded


def _build_key(con: duckdb.DuckDBPyConnection) -> tuple:
    """Identity of the build ``con`` reads: its file (path, inode, mtime, size), its run history and the ids of
    its vectors. A file replaced at the same path gets another key; a cursor still reading the replaced file
    sees the new file's inode but the old history, a key no current build has, so it never hands its old vectors
    to readers of the new file."""
    path = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    runs = con.execute("select max(run_id), count(*) from runs").fetchall()[0]
    ids = con.execute("select count(*), sum(hash(attack_id)) from attack_embeddings").fetchall()[0]
    file = path[0][0] if path and path[0][0] else f"memory:{id(con)}"
    try:
        stat = os.stat(file)
        on_disk: tuple = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    except OSError:
        on_disk = ()
    return (file, *on_disk, *runs, *ids)


def _load(con: duckdb.DuckDBPyConnection) -> Vectors:
    t0 = time.perf_counter()
    frame = con.sql(
        "select e.attack_id, e.vector, coalesce(a.is_duplicate, false) as is_duplicate "
        "from attack_embeddings e join attacks a on a.attack_id = e.attack_id order by e.attack_id").pl()
    n = frame.height
    if n == 0:
        return Vectors((), np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=bool), {})
    lengths = frame["vector"].list.len()
    if lengths.min() != lengths.max():
        raise ValueError(f"attack_embeddings holds vectors of {lengths.min()} to {lengths.max()} dimensions")
    matrix = frame["vector"].explode().to_numpy().astype(np.float32, copy=False).reshape(n, -1)
    matrix = np.nan_to_num(matrix, nan=0.0, posinf=0.0, neginf=0.0)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    ids = tuple(frame["attack_id"].to_list())
    log.info("similar: loaded %d vectors of dimension %d in %.2f s", n, matrix.shape[1], time.perf_counter() - t0)
    return Vectors(ids, matrix, ~frame["is_duplicate"].to_numpy(), {a: i for i, a in enumerate(ids)})


def similar(con: duckdb.DuckDBPyConnection, attack_ids: Iterable[str], k: int) -> list[tuple[str, float]]:
    """The ``k`` nearest attacks (attack_id, cosine similarity), best first, to the centroid of ``attack_ids``
    (one id: that attack itself); [] when none of them has a vector."""
    vecs = vectors(con)
    rows = vecs.rows(attack_ids)
    if rows.size == 0:
        return []
    centroid = vecs.matrix[rows].mean(axis=0)
    return vecs.nearest(centroid, k, rows)
