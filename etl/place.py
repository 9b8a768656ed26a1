"""Placement: put a run's new attacks on the previous build's map and into its clusters instead of refitting.

After every full fit the pipeline saves a *placement state* for the build (``save_state``):
``<cache>/placement/<run_id>.pkl`` holds each row's embedding-text cache key (``etl.embed.text_keys``),
its 2-D map and 5-D clustering coordinates, its raw HDBSCAN label, the fitted HDBSCAN model (with
prediction data) and the fit parameters. The 384-d vectors are not stored: they are in the embedding
cache, and the run that places new rows has them for every current row anyway.

A later run on the same database (``prepare``) continues from the state of the database's last published
build (or, when that build was itself incremental, of the full fit it started from) when the fit
parameters are unchanged and at most ``recluster_share`` of the rows are new (and at most that share of
the fitted rows have gone). Then (``place``):

- rows whose text was in the fit keep their stored coordinates and raw label (the k-th row with a text
  takes the fit's k-th row with that text; extra copies take the first one's);
- each new text is placed by UMAP's own transform (the steps of ``umap.UMAP.transform`` in umap-learn
  0.5.12, ``umap_transform``) in both layouts, from its exact cosine neighbours among the fitted rows
  still present, and gets a raw label by HDBSCAN's approximate prediction in 5-D.

Otherwise the pipeline does a full fit and saves a new state. New rows are always placed against the
full fit, never against earlier placements, so placements do not compound: once the rows added since the
last full fit exceed the share, the next run refits everything.

Fit on a sample (``--fit-sample N``): above N rows, a full fit is made on a stratified sample of N rows
(``sample_rows``) and every other row is placed on it the same way (``fit_on_sample``), in chunks of
``CHUNK_ROWS`` texts (``place_chunk``) run in parallel: threads with the local engine, one Ray task per chunk
with ``--engine ray`` (``etl.engines``). The state then holds every row (so a later incremental run
finds them all) and marks the sample rows as the only ones new rows are placed among (``State.reference``).

The state files are pickles (HDBSCAN's model has no other serialisation). They are only read from the
user's own cache folder, and any problem reading one means a full fit, never a failed run.
"""

from __future__ import annotations

import importlib.metadata
import logging
import pickle
import re
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import polars as pl

from etl import cachefiles, settings
from etl.errors import UserError
from etl.store import published_runs

log = logging.getLogger("redteam_risk.place")

DEFAULT_RECLUSTER_SHARE = settings.DEFAULT_RECLUSTER_SHARE
STATE_FORMAT = "redteam-risk-placement"
STATE_VERSION = 1
STATE_KEEP = 5  # newest states kept; each is about 250 bytes per attack (mostly the HDBSCAN model)
FIT_LIBRARIES = ("umap-learn", "pynndescent", "hdbscan", "numba", "numpy", "scikit-learn")
TRANSFORM_SEED = 42  # umap.UMAP's default transform_seed
# Texts placed per chunk: each chunk is placed as an incremental run of that many new texts would be (UMAP's
# transform runs 100 epochs up to 10,000 points), so chunks can run in parallel and results do not depend on
# the number of threads.
CHUNK_ROWS = 10_000
SAMPLE_STRATA = ("source_file", "campaign", "model")  # columns whose combinations a fit sample keeps in proportion
_RUN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


@dataclass
class State:
    """A full fit, enough to place new rows on it. Row-aligned arrays, one row per attack of that build:
    ``keys`` (n,) ``V16`` text keys; ``xy`` (n, 2) and ``z`` (n, 5) float32 UMAP coordinates; ``raw_labels``
    (n,) int32 HDBSCAN labels. ``clusterer``: the fitted ``hdbscan.HDBSCAN``. ``n_neighbors``: the k of the
    fit's neighbour graph. ``fit``: the parameters the fit depended on (``fit_parameters``). ``cluster_ids``:
    raw label -> the cluster id that build published (``etl.label.stable_ids``). ``clusterer`` is None for a
    consensus clustering: new rows then take their neighbours' clusters (``neighbour_labels``)."""

    run_id: str
    fit: dict
    keys: np.ndarray
    xy: np.ndarray
    z: np.ndarray
    raw_labels: np.ndarray
    n_neighbors: int
    clusterer: Any
    cluster_ids: dict[int, int]
    strength: np.ndarray | None = None  # (n,) membership strength of each row (None in older states)
    # (n,) bool: the rows new rows may be placed among: the fit's rows when the fit was made on a sample and the
    # state also holds the rows placed on it; None = every row (a full fit on all rows, and older states)
    reference: np.ndarray | None = None


@dataclass
class Placement:
    """The decision to place rather than refit. ``state_row``: (n,) int64, for each current row the state
    row whose coordinates and label it takes, -1 for a new row. Counts are rows of the current input
    (``n_new``, and ``n_new_texts`` distinct new texts) and rows of the state (``n_removed``)."""

    state: State
    state_row: np.ndarray
    n_new: int
    n_new_texts: int
    n_removed: int

    def info(self) -> dict:
        """What the ``runs`` row records about this run's placement."""
        return {"mode": "incremental", "base_run": self.state.run_id, "placed": self.n_new,
                "placed_texts": self.n_new_texts, "removed": self.n_removed}


@dataclass
class Placed:
    """``reduced``: an ``etl.reduce.Reduced`` (``method`` "placed") for all rows; ``raw_labels``: (n,) int32;
    ``cluster_ids``: raw label -> the cluster id the base build published, so that labelling can keep them."""

    reduced: Any
    raw_labels: np.ndarray
    cluster_ids: dict[int, int]
    strength: np.ndarray | None = None  # (n,) membership strength 0–1 (stored for fitted rows, predicted for new)


def fit_parameters(model_id: str, precision: str, embed_text: str, seed: int, min_cluster_size: int | None,
                   backend: str = "torch", fit_sample: int | None = None) -> dict:
    """Everything a full fit's result depends on besides the vectors: the embedding model, precision and
    backend, the embedded columns, the UMAP seed, HDBSCAN's ``min_cluster_size``, the reduce and cluster
    settings, the versions of the fitting libraries and, when the fit is made on a sample, its size. A state
    is used only when this is equal. (The backend and sample keys are left out for the torch backend and a fit
    on all rows, so states saved before they existed stay usable.)"""
    from etl import cluster, reduce

    versions = {}
    for package in FIT_LIBRARIES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "state_version": STATE_VERSION,
        "model_id": model_id,
        "embed_precision": precision,
        "embed_text": embed_text,
        "seed": seed,
        "min_cluster_size": min_cluster_size,
        "reduce": {"n_neighbors": reduce.N_NEIGHBORS, "cluster_dims": reduce.CLUSTER_DIMS,
                   "map_min_dist": reduce.MAP_MIN_DIST, "cluster_min_dist": reduce.CLUSTER_MIN_DIST,
                   "init": reduce.INIT, "n_epochs": reduce.N_EPOCHS, "exact_knn_max_rows": reduce.EXACT_KNN_MAX_ROWS,
                   "large_input_epochs": [reduce.LARGE_INPUT_ROWS, reduce.LARGE_INPUT_EPOCHS]},
        "cluster": {"selection_method": cluster.SELECTION_METHOD, "dominant_share": cluster.DOMINANT_SHARE,
                    "consensus": [cluster.CONSENSUS_FITS, cluster.CONSENSUS_MIN_FITS, cluster.CONSENSUS_BUDGET_ROWS]},
        "versions": versions,
        **({} if backend == "torch" else {"embed_backend": backend}),
        **({} if fit_sample is None else {"fit_sample": fit_sample}),
    }


def state_path(cache_dir: Path, run_id: str) -> Path:
    """Where the placement state of build ``run_id`` lives: ``<cache_dir>/placement/<run_id>.pkl``."""
    return Path(cache_dir) / "placement" / f"{run_id}.pkl"


def save_state(
    cache_dir: Path, run_id: str, fit: dict, keys: np.ndarray, reduced: Any, clustering: Any, attack_ids: list[str],
    reference: np.ndarray | None = None,
) -> Path | None:
    """Save the placement state of a full fit: ``keys`` (n,) text keys, ``reduced`` (``etl.reduce.Reduced``),
    ``clustering`` (``etl.cluster.Clustering``), ``attack_ids`` (n,) (to record the cluster ids the build
    publishes). Written to a temporary file and renamed into place; only the newest ``STATE_KEEP`` states
    are kept. Returns the path, or None when there is nothing to place against
    (tiny input: PCA or no HDBSCAN model) or the cache cannot be written (a warning; the build goes on).
    A consensus clustering (``etl.cluster.fit_consensus``) has no model; its state places new rows by their
    neighbours' clusters (``neighbour_labels``)."""
    consensus = bool((clustering.settings or {}).get("consensus"))
    if reduced.method not in ("umap", "sampled") or (clustering.model is None and not consensus):
        log.info("place: no placement state for this build (too few rows for UMAP and HDBSCAN)")
        return None
    from etl.label import stable_ids

    start = time.perf_counter()
    model = clustering.model
    raw = np.asarray(clustering.labels, dtype=np.int32)
    ids = stable_ids(raw, attack_ids)
    _, first = np.unique(raw, return_index=True)
    if model is not None and getattr(model, "_prediction_data", None) is None:
        model.generate_prediction_data()  # done once here so that every placement run saves the time
    payload = {
        "format": STATE_FORMAT, "version": STATE_VERSION, "run_id": run_id, "fit": fit,
        "keys": np.ascontiguousarray(keys), "xy": np.ascontiguousarray(reduced.xy, dtype=np.float32),
        "z": np.ascontiguousarray(reduced.z, dtype=np.float32),
        "raw_labels": raw, "cluster_ids": {int(raw[i]): int(ids[i]) for i in first},
        "strength": None if clustering.strength is None else np.asarray(clustering.strength, dtype=np.float32),
        "n_neighbors": min(fit["reduce"]["n_neighbors"], len(keys) - 1), "clusterer": model,
        "reference": None if reference is None else np.asarray(reference, dtype=bool),
    }
    path = state_path(cache_dir, run_id)
    try:
        cachefiles.write_whole(path, lambda fh: pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL),
                               STATE_KEEP)
    except OSError as exc:  # a read-only or full cache must not fail the build
        log.warning("place: could not save the placement state in %s: %s", path.parent, exc)
        return None
    log.info("place: saved the placement state of run %s (%.1f MB) in %.1f s",
             run_id, path.stat().st_size / 1e6, time.perf_counter() - start)
    return path


def load_state(cache_dir: Path, run_id: str) -> State | None:
    """The placement state of build ``run_id``, or None when it is missing or unusable (a warning, except
    for a missing file)."""
    path = state_path(cache_dir, run_id)
    try:
        with open(path, "rb") as fh:
            payload = pickle.load(fh)  # the user's own cache folder, written by save_state
        if not isinstance(payload, dict) or payload.get("format") != STATE_FORMAT:
            raise ValueError("not a placement state")
        if payload.get("version") != STATE_VERSION:
            raise ValueError(f"state format version {payload.get('version')}, expected {STATE_VERSION}")
        state = State(
            run_id=str(payload["run_id"]), fit=dict(payload["fit"]), keys=np.asarray(payload["keys"]),
            xy=np.asarray(payload["xy"], dtype=np.float32), z=np.asarray(payload["z"], dtype=np.float32),
            raw_labels=np.asarray(payload["raw_labels"], dtype=np.int32), n_neighbors=int(payload["n_neighbors"]),
            clusterer=payload["clusterer"],
            cluster_ids={int(k): int(v) for k, v in payload["cluster_ids"].items()},
            strength=None if payload.get("strength") is None else np.asarray(payload["strength"], np.float64),
            reference=None if payload.get("reference") is None else np.asarray(payload["reference"], dtype=bool),
        )
        n = len(state.keys)
        if (state.run_id != run_id or state.keys.dtype != np.dtype("V16") or state.xy.shape != (n, 2)
                or state.z.ndim != 2 or len(state.z) != n or state.raw_labels.shape != (n,)
                or not 0 < state.n_neighbors < n
                or not (state.clusterer is None or hasattr(state.clusterer, "condensed_tree_"))
                or not set(np.unique(state.raw_labels).tolist()) <= set(state.cluster_ids)
                or (state.reference is not None and state.reference.shape != (n,))):
            raise ValueError("inconsistent contents")
    except FileNotFoundError:
        log.info("place: no placement state for run %s", run_id)
        return None
    except Exception as exc:  # noqa: BLE001 - any unusable state (truncated, another version's pickle): full fit
        log.warning("place: ignoring the unusable placement state %s (%s: %s); doing a full fit",
                    path, type(exc).__name__, exc)
        return None
    cachefiles.touch(path)
    return state


def base_run(previous_runs: pl.DataFrame | None) -> str | None:
    """The build whose placement state the next run continues from: the ``base_run`` recorded by the newest
    run of the published database's ``runs`` history that recorded a placement (after a full fit, the run
    itself; after an incremental run, the full fit it placed on; a run that republished a build unchanged
    carries that build's record). None when there is none."""
    if previous_runs is None or "parameters" not in previous_runs.columns:
        return None
    for run in published_runs(previous_runs):
        placement = run["parameters"].get("placement")
        if not isinstance(placement, dict):
            continue
        base = placement.get("base_run", run["run_id"] if placement.get("mode") == "full" else None)
        return base if isinstance(base, str) and _RUN_ID.match(base) else None
    return None


def prepare(
    cache_dir: Path,
    previous_runs: pl.DataFrame | None,
    keys: np.ndarray,
    fit: dict,
    recluster_share: float = DEFAULT_RECLUSTER_SHARE,
) -> Placement | None:
    """Decide whether this run's rows (text ``keys``, (n,) ``V16``, with fit parameters ``fit``) can be
    placed on an earlier fit: returns the ``Placement``, or None for a full fit (the reason is logged).

    ``previous_runs``: the published database's ``runs`` table (``etl.store.read_previous_runs``).
    ``recluster_share``: the largest share (0–1) of new rows, and of the fit's rows no longer present,
    that still allows placement; 0 always refits.
    """
    if recluster_share <= 0:
        log.info("place: full fit (recluster share is 0)")
        return None
    base = base_run(previous_runs)
    if base is None:
        log.info("place: full fit (no earlier build to place new rows on)")
        return None
    state = load_state(cache_dir, base)
    if state is None:
        return None
    if state.fit != fit:
        changed = sorted(k for k in set(fit) | set(state.fit) if fit.get(k) != state.fit.get(k))
        log.info("place: full fit (%s changed since run %s)", ", ".join(changed), base)
        return None
    state_row = match_rows(state.keys, keys)
    n, n_state = len(keys), len(state.keys)
    new = state_row < 0
    n_new = int(new.sum())
    n_removed = n_state - len(np.unique(state_row[~new]))
    if n_new > recluster_share * n or n_removed > recluster_share * n_state:
        log.info("place: full fit (%d of %d rows are new, %d of run %s's %d rows are gone; more than the "
                 "recluster share %.0f %%)", n_new, n, n_removed, base, n_state, 100 * recluster_share)
        return None
    present = np.unique(state_row[~new])
    n_reference = len(present) if state.reference is None else int(state.reference[present].sum())
    if n_reference <= state.n_neighbors:
        log.info("place: full fit (too few of run %s's rows remain to place new rows among)", base)
        return None
    n_new_texts = len(np.unique(keys[new])) if n_new else 0
    log.info("place: placing %d new rows (%d texts, %.1f %% of %d) on the fit of run %s; %d of its rows are gone",
             n_new, n_new_texts, 100 * n_new / n, n, base, n_removed)
    return Placement(state=state, state_row=state_row, n_new=n_new, n_new_texts=n_new_texts, n_removed=n_removed)


def match_rows(state_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """For each of ``keys`` ((n,) ``V16``), the row of ``state_keys`` it corresponds to, -1 when its text is
    not in the state: the k-th occurrence of a text takes the state's k-th occurrence, extra occurrences
    the first. Returns (n,) int64."""

    def frame(k: np.ndarray) -> pl.DataFrame:
        halves = np.ascontiguousarray(k).view(np.uint64).reshape(-1, 2)
        return pl.DataFrame({"k0": halves[:, 0], "k1": halves[:, 1]}).with_row_index("row").with_columns(
            pl.int_range(pl.len(), dtype=pl.UInt32).over("k0", "k1").alias("occ")
        )

    current, state = frame(keys), frame(state_keys).rename({"row": "state_row"})
    matched = current.join(state, on=["k0", "k1", "occ"], how="left").join(
        state.filter(pl.col("occ") == 0).select("k0", "k1", pl.col("state_row").alias("first_row")),
        on=["k0", "k1"], how="left",
    ).sort("row")
    out = matched.select(pl.coalesce("state_row", "first_row").fill_null(-1))
    return out.to_series().to_numpy().astype(np.int64)


def place(placement: Placement, vectors: np.ndarray, keys: np.ndarray, attach: bool = False,
          workers: int | None = None, run_chunks: ChunkRunner | None = None) -> Placed | None:
    """Coordinates and raw labels of every row: stored for rows of the fit, placed for new ones.

    ``vectors``: (n, d) float32 unit embeddings of the current rows, ``keys`` their text keys (the same
    rows ``prepare`` saw; an array or an ``etl.vectors.VectorFile``). Each new text is placed once (its copies
    share the result), in chunks of ``CHUNK_ROWS`` texts run by ``run_chunks`` (an engine's ``place_chunks``;
    default: ``place_chunks_in_threads`` on ``workers`` threads). ``attach``: new rows HDBSCAN's prediction leaves
    unclustered join their most probable cluster by the rule of a full fit (``etl.cluster.attach_noise``).
    Returns None (with a warning) if placement fails, so the caller can fall back to a full fit; a
    ``UserError`` (the Ray cluster lost a worker) stops the build instead.
    """
    from etl import reduce

    start = time.perf_counter()
    state, state_row = placement.state, placement.state_row
    seconds: dict[str, float] = {}
    try:
        old = np.flatnonzero(state_row >= 0)
        new = np.flatnonzero(state_row < 0)
        xy = np.empty((len(state_row), 2), dtype=np.float32)
        z = np.empty((len(state_row), state.z.shape[1]), dtype=np.float32)
        labels = np.empty(len(state_row), dtype=np.int32)
        strength = np.empty(len(state_row), dtype=np.float64)
        rows = state_row[old]
        xy[old], z[old], labels[old] = state.xy[rows], state.z[rows], state.raw_labels[rows]
        strength[old] = (state.strength[rows] if state.strength is not None
                         else (state.raw_labels[rows] >= 0).astype(np.float64))
        if len(new):
            # Neighbours among the fitted rows still present, each once, with the vector of a current row
            # having its text (cached vectors are bit-identical to the ones the fit used).
            ref_rows, first = np.unique(state_row[old], return_index=True)
            ref_at = old[first]
            if state.reference is not None:  # a fit on a sample: place among the sample's rows only
                keep = state.reference[ref_rows]
                ref_rows, ref_at = ref_rows[keep], ref_at[keep]
            ref_vectors = np.ascontiguousarray(vectors[ref_at], dtype=np.float32)
            _, first_new, inverse = np.unique(keys[new], return_index=True, return_inverse=True)
            new_xy, new_z, new_labels, new_strength = _place_texts(
                state, vectors, new[first_new], ref_vectors, ref_rows, attach, workers, seconds, run_chunks)
            inverse = inverse.ravel()
            xy[new], z[new], labels[new] = new_xy[inverse], new_z[inverse], new_labels[inverse]
            strength[new] = new_strength[inverse]
    except UserError:  # the engine failed (a lost Ray worker): stop, as every other stage does
        raise
    except Exception as exc:  # placement only saves time; any failure means a full fit instead
        log.warning("place: placing new rows failed (%s: %s); doing a full fit", type(exc).__name__, exc, exc_info=True)
        return None
    log.info("place: done in %.1f s (%s)", time.perf_counter() - start,
             ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()) or "no new rows")
    return Placed(
        reduced=reduce.Reduced(xy=xy, z=z, method="placed", seconds={k: round(v, 3) for k, v in seconds.items()}),
        raw_labels=labels,
        cluster_ids=dict(state.cluster_ids),
        strength=strength,
    )


@dataclass
class ChunkModel:
    """What every chunk of new texts is placed against, the same for all chunks of one placement (the Ray engine
    puts it in its object store once): the reference rows' unit vectors ``ref_vectors`` (r, d) float32, their
    ``ref_xy`` (r, 2) and ``ref_z`` (r, dims) coordinates and raw ``ref_labels`` (r,), the fitted ``clusterer``
    (None for a consensus clustering), the neighbour count ``k``, the layouts' ``map_min_dist`` and
    ``cluster_min_dist``, UMAP's ``n_epochs`` and ``attach`` (``place``)."""

    ref_vectors: np.ndarray
    ref_xy: np.ndarray
    ref_z: np.ndarray
    ref_labels: np.ndarray
    clusterer: Any
    k: int
    map_min_dist: float
    cluster_min_dist: float
    n_epochs: int | None
    attach: bool


@dataclass
class ChunkPlaced:
    """One chunk's result: (m, 2) ``xy`` and (m, dims) ``z`` float32, (m,) int32 raw ``labels``, (m,) float64
    ``strength``, and the seconds it spent (``knn``, ``umap_transform``, ``predict``)."""

    xy: np.ndarray
    z: np.ndarray
    labels: np.ndarray
    strength: np.ndarray
    seconds: dict[str, float]


def place_chunk(model: ChunkModel, vectors: np.ndarray) -> ChunkPlaced:
    """Place one chunk of distinct new texts (their (m, d) float32 unit ``vectors``) among ``model``'s reference
    rows: exact neighbours, UMAP's transform into both layouts (side by side in two threads, as in etl.reduce) and
    HDBSCAN's prediction. Deterministic: the same chunk gives the same result in any thread or process. Raises
    ValueError on non-finite coordinates."""
    from concurrent.futures import ThreadPoolExecutor

    from etl import cluster, reduce

    reduce.prepare_umap_kernels()
    t0 = time.perf_counter()
    indices, dists = reduce.knn_query(vectors, model.ref_vectors, model.k)
    t1 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as layouts:
        job_xy = layouts.submit(umap_transform, indices, dists, model.ref_xy, model.map_min_dist, model.k,
                                model.n_epochs)
        job_z = layouts.submit(umap_transform, indices, dists, model.ref_z, model.cluster_min_dist, model.k,
                               model.n_epochs)
        xy, z = job_xy.result(), job_z.result()
    if not (np.isfinite(xy).all() and np.isfinite(z).all()):
        raise ValueError("UMAP's transform gave non-finite coordinates")
    t2 = time.perf_counter()
    if model.clusterer is None:  # a consensus clustering: no model to predict with
        labels, strength = neighbour_labels(model.ref_labels[indices])
    else:
        labels, strength = cluster.predict_with_strength(model.clusterer, z)
        if model.attach:
            labels, strength = cluster.attach_noise(model.clusterer, z, labels, strength)
    seconds = {"knn": t1 - t0, "umap_transform": t2 - t1, "predict": time.perf_counter() - t2}
    return ChunkPlaced(xy=xy, z=z, labels=np.asarray(labels, dtype=np.int32),
                       strength=np.asarray(strength, dtype=np.float64), seconds=seconds)


# How an engine places chunks (``etl.engines``): (model, [(lo, hi) positions of each chunk], read(lo, hi) -> that
# chunk's vectors) -> (lo, ChunkPlaced) for every chunk, in any order.
ChunkRunner = Callable[[ChunkModel, list[tuple[int, int]], Callable[[int, int], np.ndarray]],
                       Iterable[tuple[int, ChunkPlaced]]]


def place_chunks_in_threads(model: ChunkModel, chunks: list[tuple[int, int]],
                            read: Callable[[int, int], np.ndarray],
                            workers: int | None = None) -> Iterator[tuple[int, ChunkPlaced]]:
    """The local engine's ``ChunkRunner``: ``place_chunk`` on ``workers`` threads (default: one per two CPUs; each
    places its two layouts in two threads), each reading its chunk's vectors when it starts, so at most ``workers``
    chunks of vectors are in memory. The numba kernels run in parallel threads (the omp/tbb layers, and umap's
    epoch kernel compiled without the GIL by ``etl.reduce.prepare_umap_kernels``)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    workers = max(1, min(workers or (os.cpu_count() or 2) // 2, len(chunks)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [(lo, pool.submit(lambda lo, hi: place_chunk(model, read(lo, hi)), lo, hi)) for lo, hi in chunks]
        for lo, future in futures:
            yield lo, future.result()  # re-raises a chunk's error


def _place_texts(state: State, vectors: np.ndarray, rows: np.ndarray, ref_vectors: np.ndarray, ref_rows: np.ndarray,
                 attach: bool, workers: int | None, seconds: dict[str, float], run_chunks: ChunkRunner | None = None):
    """(xy, z, raw labels, strength) of ``vectors[rows]`` (each a distinct new text) placed among the reference
    rows (their ``ref_vectors`` and the state's coordinates at ``ref_rows``), chunk by chunk (``CHUNK_ROWS`` texts,
    ``place_chunk``) by ``run_chunks`` (default ``place_chunks_in_threads`` on ``workers`` threads; the Ray engine
    sends each chunk to a task). The chunking is fixed, so the result depends on neither the runner nor the
    workers. A chunk's vectors are read from ``vectors`` (an array or an ``etl.vectors.VectorFile``) when the
    runner asks for them."""
    from functools import partial

    rd = state.fit["reduce"]
    model = ChunkModel(ref_vectors=ref_vectors, ref_xy=state.xy[ref_rows], ref_z=state.z[ref_rows],
                       ref_labels=state.raw_labels[ref_rows], clusterer=state.clusterer, k=state.n_neighbors,
                       map_min_dist=rd["map_min_dist"], cluster_min_dist=rd["cluster_min_dist"],
                       n_epochs=rd["n_epochs"], attach=attach)
    m = len(rows)
    xy = np.empty((m, 2), dtype=np.float32)
    z = np.empty((m, state.z.shape[1]), dtype=np.float32)
    labels = np.empty(m, dtype=np.int32)
    strength = np.empty(m, dtype=np.float64)
    totals = {"knn": 0.0, "umap_transform": 0.0, "predict": 0.0}
    chunks = [(lo, min(lo + CHUNK_ROWS, m)) for lo in range(0, m, CHUNK_ROWS)]

    def read(lo: int, hi: int) -> np.ndarray:
        return np.ascontiguousarray(vectors[rows[lo:hi]], dtype=np.float32)

    runner = run_chunks or partial(place_chunks_in_threads, workers=workers)
    t0 = time.perf_counter()
    done = 0
    for lo, part in runner(model, chunks, read):
        hi = lo + len(part.labels)
        xy[lo:hi], z[lo:hi], labels[lo:hi], strength[lo:hi] = part.xy, part.z, part.labels, part.strength
        for name, value in part.seconds.items():
            totals[name] += value
        done += hi - lo
    if done != m:
        raise ValueError(f"placement returned {done} of {m} texts")
    seconds.update({k: round(v, 3) for k, v in totals.items()})  # CPU-side seconds summed over the chunks
    seconds["place_wall"] = time.perf_counter() - t0
    log.info("place: placed %d texts in %d chunk(s) in %.1f s", m, len(chunks), seconds["place_wall"])
    return xy, z, labels, strength


def neighbour_labels(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw labels and strengths of new rows from ``votes`` ((m, k) int: the raw labels of each row's k nearest
    fitted rows, nearest first; -1 = unclustered): the label most of them have, unclustered included (ties to the
    label of the nearer row), with the share of the k that have it as strength (0 when unclustered). How new rows
    join a consensus clustering, which has no HDBSCAN model to predict with. Returns ((m,) int32, (m,) float64)."""
    m, k = votes.shape
    labels = np.full(m, -1, dtype=np.int32)
    strength = np.zeros(m)
    for r in range(m):
        values, first, counts = np.unique(votes[r], return_index=True, return_counts=True)
        best = np.lexsort((first, -counts))[0]  # most votes, then the nearest
        labels[r] = values[best]
        strength[r] = counts[best] / k if values[best] >= 0 else 0.0
    return labels, strength


def sample_rows(strata: pl.DataFrame, size: int, seed: int) -> np.ndarray:
    """A stratified sample of ``size`` of the rows of ``strata`` (one column per stratifying attribute; rows
    with equal values form a stratum): sorted row indices. Each stratum gets its proportional share (largest
    remainders round it, ties to the larger and then earlier stratum), drawn without replacement by a
    generator seeded with ``seed``; the same rows and seed always give the same sample."""
    n = strata.height
    if size >= n:
        return np.arange(n, dtype=np.int64)
    keyed = strata.select(pl.all().cast(pl.String).fill_null("\x00null")).with_row_index("row")
    groups = keyed.group_by(strata.columns, maintain_order=True).agg(pl.col("row")).sort(strata.columns)
    members = [np.asarray(r, dtype=np.int64) for r in groups["row"].to_list()]
    sizes = np.array([len(r) for r in members], dtype=np.int64)
    exact = size * sizes / n
    quota = np.floor(exact).astype(np.int64)
    short = size - int(quota.sum())
    if short:
        order = np.lexsort((np.arange(len(sizes)), -sizes, -(exact - quota)))
        quota[order[:short]] += 1
    rng = np.random.default_rng(seed)
    picked = [rng.choice(r, q, replace=False) for r, q in zip(members, quota, strict=True) if q]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def fit_on_sample(vectors: np.ndarray, keys: np.ndarray, sample: np.ndarray, run_id: str,
                  fit: dict, seed: int, min_cluster_size: int | None, cache_dir: Path, timer: Any = None,
                  run_chunks: ChunkRunner | None = None):
    """Fit UMAP and HDBSCAN on the rows ``sample`` (``sample_rows``) and place every row on that fit.

    Returns (``Placed`` for all rows, the sample's ``etl.cluster.Clustering``, info for the ``runs`` row), or
    None when placing failed (logged; the caller fits everything). ``timer``: the pipeline's stage timer, to
    time the fit as "reduce" and the clustering and placement as "cluster". ``run_chunks``: where the placement
    chunks run (``place``)."""
    import contextlib

    from etl import cluster, reduce

    stage = timer.stage if timer is not None else (lambda name: contextlib.nullcontext())
    n, s = len(keys), len(sample)
    log.info("place: fitting on a stratified sample of %d of %d rows (by %s)", s, n, ", ".join(SAMPLE_STRATA))
    with stage("reduce"):
        reduced = reduce.reduce(vectors[sample], seed=seed, cache_dir=cache_dir)
    with stage("cluster"):
        clustering = cluster.fit(reduced.z, min_cluster_size=min_cluster_size)
        if clustering.model is None or reduced.method != "umap":
            raise ValueError("the sample is too small for UMAP and HDBSCAN")
        state = State(run_id=run_id, fit=fit, keys=keys[sample], xy=reduced.xy, z=reduced.z,
                      raw_labels=clustering.labels, n_neighbors=min(fit["reduce"]["n_neighbors"], s - 1),
                      clusterer=clustering.model, cluster_ids={int(r): int(r) for r in np.unique(clustering.labels)},
                      strength=clustering.strength)
        state_row = np.full(n, -1, dtype=np.int64)
        state_row[sample] = np.arange(s)
        rest = state_row < 0
        # A row outside the sample whose text is in it takes the sample row's place (as in an incremental run).
        state_row[rest] = match_rows(state.keys, keys[rest])
        n_new = int((state_row < 0).sum())
        placement = Placement(state=state, state_row=state_row, n_new=n_new,
                              n_new_texts=len(np.unique(keys[state_row < 0])) if n_new else 0, n_removed=0)
        placed = place(placement, vectors, keys, attach=True, run_chunks=run_chunks)
    if placed is None:
        return None
    placed.reduced.method = "sampled"
    placed.cluster_ids = {}  # new ids: labelling numbers the clusters as after a full fit
    info = {"mode": "sample", "base_run": run_id, "fit_rows": s, "placed": n - s, "placed_texts": placement.n_new_texts,
            "strata": list(SAMPLE_STRATA), "hdbscan": clustering.settings}
    return placed, clustering, info


def umap_transform(
    indices: np.ndarray,
    dists: np.ndarray,
    reference: np.ndarray,
    min_dist: float,
    n_neighbors: int,
    n_epochs: int | None = None,
) -> np.ndarray:
    """New points' coordinates in a fitted UMAP layout: the steps of ``umap.UMAP.transform`` (umap-learn
    0.5.12, default settings, seeded model), given each new point's neighbours in the training data.

    ``indices`` (m, k) int32 rows of ``reference`` and ``dists`` (m, k) their cosine distances, nearest
    first; ``reference``: (r, dims) float32 training coordinates; ``min_dist``, ``n_neighbors`` and
    ``n_epochs`` as given to the fitted ``umap.UMAP``. Returns (m, dims) float32. Deterministic.
    """
    from etl import reduce

    reduce.prepare_umap_kernels()
    import scipy.sparse
    from sklearn.utils import check_random_state
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import (
        DISCONNECTION_DISTANCES,
        INT32_MAX,
        INT32_MIN,
        compute_membership_strengths,
        find_ab_params,
        init_graph_transform,
        make_epochs_per_sample,
        smooth_knn_dist,
    )

    m = indices.shape[0]
    reference = np.ascontiguousarray(reference, dtype=np.float32)
    rng_state = check_random_state(TRANSFORM_SEED).randint(INT32_MIN, INT32_MAX, 3).astype(np.int64)
    indices = np.array(indices, dtype=np.int32, order="C")
    dists = np.array(dists, dtype=np.float32, order="C")
    indices[dists >= DISCONNECTION_DISTANCES["cosine"]] = -1
    # UMAP's local_connectivity (1.0) less one, as in transform
    sigmas, rhos = smooth_knn_dist(dists, float(n_neighbors), local_connectivity=0.0)
    rows, cols, vals, _ = compute_membership_strengths(indices, dists, sigmas, rhos, bipartite=True)
    graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(m, reference.shape[0]))
    csr_graph = graph.tocsr()
    csr_graph.eliminate_zeros()
    embedding = init_graph_transform(csr_graph, reference)
    if n_epochs is None:
        epochs = 100 if graph.shape[0] <= 10000 else 30
    else:
        epochs = int(n_epochs // 3.0)
    graph.data[graph.data < (graph.data.max() / float(epochs))] = 0.0
    graph.eliminate_zeros()
    epochs_per_sample = make_epochs_per_sample(graph.data, epochs)
    a, b = find_ab_params(1.0, min_dist)  # spread 1.0
    out = optimize_layout_euclidean(
        embedding, reference.copy(), graph.row, graph.col, epochs, graph.shape[1], epochs_per_sample, a, b,
        rng_state, 1.0, 1.0 / 4.0, 5.0, False,  # repulsion_strength, learning_rate / 4, negative_sample_rate, parallel
    )
    return np.ascontiguousarray(out, dtype=np.float32)
