"""Reduce stage: UMAP of the embeddings to 2-D (the map) and to 5-D (the clustering input).

Input: an (n, d) float32 matrix of unit vectors. Output: ``Reduced`` with ``xy`` (n, 2) and ``z``
(n, 5), both float32 in UMAP's arbitrary units, and for small inputs more 5-D fits with seeds derived
from the run's (``z_extra``; ``etl.cluster`` clusters their consensus).

The cosine k-nearest-neighbour graph is the expensive shared part: it is computed once (exactly,
up to ``EXACT_KNN_MAX_ROWS`` rows; pynndescent above) and handed to both UMAP fits through
``precomputed_knn``. A seed makes each UMAP optimisation single-threaded, which is what makes the
same data and seed give the same map and clusters; the two fits run in parallel threads instead.

numba compiles umap's kernels on first use in each process; the compiled code is cached on disk
(``configure_numba_cache``, to be called before anything imports umap), including the umap kernels
umap itself does not mark as cacheable. With a ``cache_dir`` the finished result is cached too.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import threading
import time
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from etl import cachefiles, settings

log = logging.getLogger("redteam_risk.reduce")

N_NEIGHBORS = 15
CLUSTER_DIMS = 5
MAP_MIN_DIST = 0.1  # spreads points on the map for reading
CLUSTER_MIN_DIST = 0.0  # packs points tightly, which is what a density-based clusterer wants
# UMAP's default spectral start costs more than the whole optimisation on clumpy data with several
# graph components (and can fail there); a PCA start is cheap and deterministic.
INIT = "pca"
N_EPOCHS = None  # LARGE_INPUT_EPOCHS above LARGE_INPUT_ROWS rows, else umap's default (500)
# umap's default above 10,000 rows is 200 epochs. On the 38,961-row demo 100 epochs clustered as well (NMI vs the
# true subtopics 0.963 / 0.956 for seeds 0 / 1 against 0.961 / 0.961; seed-to-seed ARI 0.959 against 0.966) in
# two thirds of the reduce time, the largest cost of a cold build after the embedding.
LARGE_INPUT_ROWS = 10_000
LARGE_INPUT_EPOCHS = 100
MIN_UMAP_ROWS = 50  # below this UMAP's neighbourhood graph is meaningless; PCA is used instead
# Up to this many rows the neighbour graph is computed exactly (blocked matrix products): at 40k rows
# that costs less CPU than pynndescent, whose main kernels numba cannot cache and recompiles in every
# process, and it is exact and deterministic. Above it, pynndescent's cost grows more slowly.
EXACT_KNN_MAX_ROWS = 60_000


@dataclass
class Reduced:
    """``xy``: (n, 2) map coordinates; ``z``: (n, 5) clustering input; both float32.

    ``method`` is "umap", "pca" for tiny inputs, or "placed" when ``etl.place`` put the rows on an
    earlier fit's map. ``seconds`` times the sub-steps (knn, umap_5d, umap_2d, umap_5d_extra). ``models``
    holds the fitted (map, cluster) UMAP objects when asked for (``keep_models``). ``z_extra``: the
    additional 5-D fits asked for by ``consensus_fits`` (each (n, 5) float32; empty otherwise).
    """

    xy: np.ndarray
    z: np.ndarray
    method: str
    seconds: dict[str, float] = field(default_factory=dict)
    models: tuple[Any, Any] | None = None
    z_extra: tuple[np.ndarray, ...] = ()


def configure_numba_cache(cache_dir: Path | str | None = None) -> Path:
    """Point numba's on-disk cache at ``$NUMBA_CACHE_DIR`` if set, else ``<cache dir>/numba``.

    Must run before umap or pynndescent is imported (numba fixes a function's cache location when the
    function is defined). Returns the folder used.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        path = Path(os.environ["NUMBA_CACHE_DIR"])
    else:
        path = settings.cache_dir(cache_dir) / "numba"
        os.environ["NUMBA_CACHE_DIR"] = str(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("reduce: cannot create the numba cache folder %s (%s); compiled code will not be cached", path, exc)
    previous = str(path)
    if "numba" in sys.modules:  # numba read the environment at import; update its live config too
        from numba.core import config

        previous, config.CACHE_DIR = config.CACHE_DIR, str(path)
    late = [m for m in ("umap", "pynndescent") if m in sys.modules]
    if late and previous != str(path):
        log.warning("reduce: %s imported before the numba cache was configured; some code will be recompiled", ", ".join(late))
    return path


def reduce(
    vectors: np.ndarray,
    seed: int = settings.DEFAULT_SEED,
    n_neighbors: int = N_NEIGHBORS,
    cluster_dims: int = CLUSTER_DIMS,
    map_min_dist: float = MAP_MIN_DIST,
    cluster_min_dist: float = CLUSTER_MIN_DIST,
    init: str = INIT,
    n_epochs: int | None = N_EPOCHS,
    keep_models: bool = False,
    cache_dir: Path | str | None = None,
    consensus_fits: int = 1,
) -> Reduced:
    """UMAP ``vectors`` (n, d unit vectors, cosine metric) to 2-D and ``cluster_dims``-D with ``seed``.

    ``consensus_fits`` > 1 makes that many ``cluster_dims``-D fits in all: the one with ``seed`` (``z``) and
    the others (``z_extra``) with seeds derived from it (``derived_seed``), on the same neighbour graph.
    The same vectors and seed give identical output. Inputs under ``MIN_UMAP_ROWS`` rows get PCA
    instead (padded with zeros when there are fewer components than dimensions). With
    ``cache_dir``, the result is stored under ``<cache_dir>/reduce`` keyed by the exact vectors,
    parameters and library versions, and a rerun on unchanged vectors reads it back without
    importing umap (models are then not available; ``keep_models`` bypasses the cache).
    """
    start = time.perf_counter()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = x.shape[0]
    log.info("reduce: start, %d vectors of dimension %d, seed %d", n, x.shape[1] if x.ndim == 2 else 0, seed)
    if n < MIN_UMAP_ROWS:
        log.info("reduce: only %d rows (< %d), using PCA instead of UMAP", n, MIN_UMAP_ROWS)
        z = _pca(x, cluster_dims)
        out = Reduced(xy=z[:, :2].copy(), z=z, method="pca")
        log.info("reduce: done in %.1f s", time.perf_counter() - start)
        return out
    n_epochs = epochs_for(n, n_epochs)
    params = {"seed": seed, "n_neighbors": n_neighbors, "cluster_dims": cluster_dims,
              "map_min_dist": map_min_dist, "cluster_min_dist": cluster_min_dist, "init": init,
              "n_epochs": n_epochs, **({"consensus_fits": consensus_fits} if consensus_fits > 1 else {})}
    cache_file = _result_path(cache_dir, x, params) if cache_dir is not None and not keep_models else None
    cached = _read_result(cache_file) if cache_file is not None else None
    if cached is not None:
        log.info("reduce: done in %.1f s (result read from the cache %s)", time.perf_counter() - start, cache_file)
        return cached

    prepare_umap_kernels()
    import umap
    from sklearn.utils import check_random_state

    seconds: dict[str, float] = {}
    k = min(n_neighbors, n - 1)
    t0 = time.perf_counter()
    if n <= EXACT_KNN_MAX_ROWS:
        knn_indices, knn_dists = exact_knn(x, k)
        knn_index = None
    else:
        knn_indices, knn_dists, knn_index = umap.umap_.nearest_neighbors(
            x, n_neighbors=k, metric="cosine", metric_kwds={}, angular=False,
            random_state=check_random_state(seed), low_memory=True, use_pynndescent=True, n_jobs=-1,
        )
    seconds["knn"] = time.perf_counter() - t0
    log.info("reduce: %d-nearest-neighbour graph (%s) in %.1f s",
             k, "exact" if knn_index is None else "pynndescent", seconds["knn"])

    def fit(dims: int, min_dist: float, fit_seed: int = seed) -> tuple[Any, np.ndarray, float]:
        t0 = time.perf_counter()
        model = umap.UMAP(
            n_neighbors=k, n_components=dims, min_dist=min_dist, metric="cosine",
            random_state=fit_seed, n_jobs=1, low_memory=True, init=init, n_epochs=n_epochs,
            precomputed_knn=(knn_indices, knn_dists, knn_index),
        )
        emb = model.fit_transform(x)
        return model, np.ascontiguousarray(emb, dtype=np.float32), time.perf_counter() - t0

    # A seeded fit is single-threaded; the two fits run side by side, each on its own core, which
    # works because the epoch kernel releases the GIL (see prepare_umap_kernels). Each fit's result
    # depends only on its own inputs and seed.
    # (warnings filters are process-wide, so they are set here, not in the threads)
    with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=2 if _parallel_fits else 1) as pool:
        # Expected for very clumpy data; UMAP still gives a usable layout.
        warnings.filterwarnings("ignore", message=".*(not fully connected|disconnected).*")
        # Small inputs use an exact graph without a search index; transform is not offered for them.
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        job_5d = pool.submit(fit, cluster_dims, cluster_min_dist)
        job_2d = pool.submit(fit, 2, map_min_dist)
        jobs_extra = [pool.submit(fit, cluster_dims, cluster_min_dist, derived_seed(seed, i))
                      for i in range(1, max(consensus_fits, 1))]
        (model_5d, z, seconds["umap_5d"]), (model_2d, xy, seconds["umap_2d"]) = job_5d.result(), job_2d.result()
        extra = [job.result() for job in jobs_extra]
    log.info("reduce: UMAP to %d-D in %.1f s, to 2-D in %.1f s (in parallel)",
             cluster_dims, seconds["umap_5d"], seconds["umap_2d"])
    if extra:
        seconds["umap_5d_extra"] = sum(e[2] for e in extra)
        log.info("reduce: %d more %d-D fits for the cluster consensus in %.1f s (summed over threads)",
                 len(extra), cluster_dims, seconds["umap_5d_extra"])
    out = Reduced(
        xy=xy, z=z, method="umap", seconds={k: round(v, 3) for k, v in seconds.items()},
        models=(model_2d, model_5d) if keep_models else None, z_extra=tuple(e[1] for e in extra),
    )
    if cache_file is not None:
        _write_result(cache_file, out)
    log.info("reduce: done in %.1f s", time.perf_counter() - start)
    return out


def epochs_for(n: int, n_epochs: int | None = N_EPOCHS) -> int | None:
    """The UMAP epochs of a fit on ``n`` rows: ``n_epochs`` when given, else ``LARGE_INPUT_EPOCHS`` above
    ``LARGE_INPUT_ROWS`` rows and umap's own default (None: 500 epochs) up to it."""
    if n_epochs is not None:
        return n_epochs
    return LARGE_INPUT_EPOCHS if n > LARGE_INPUT_ROWS else None


def derived_seed(seed: int, i: int) -> int:
    """The UMAP seed of the ``i``-th extra fit of a run with ``seed`` (``i`` >= 1): a value of numpy's
    ``SeedSequence([seed, i])``, so the extra fits of different run seeds do not share seeds."""
    return int(np.random.SeedSequence([seed, i]).generate_state(1)[0] % (2**31 - 1))


RESULT_CACHE_KEEP = 20  # newest results kept; each is about 28 bytes per attack


def _result_path(cache_dir: Path | str, x: np.ndarray, params: dict) -> Path:
    import importlib.metadata

    versions = {p: importlib.metadata.version(p) for p in ("umap-learn", "pynndescent", "numba", "numpy")}
    digest = hashlib.sha256(x.tobytes())
    digest.update(repr((x.shape, sorted(params.items()), sorted(versions.items()))).encode())
    return Path(cache_dir) / "reduce" / f"{digest.hexdigest()[:32]}.npz"


def _read_result(path: Path) -> Reduced | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            extra = tuple(data["z_extra"]) if "z_extra" in data.files else ()
            out = Reduced(xy=data["xy"], z=data["z"], method="umap", seconds={"cached": 0.0}, z_extra=extra)
        cachefiles.touch(path)
        return out
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as exc:
        log.warning("reduce: ignoring unreadable cached result %s: %s", path, exc)
        return None


def _write_result(path: Path, result: Reduced) -> None:
    try:
        extra = {"z_extra": np.stack(result.z_extra)} if result.z_extra else {}
        cachefiles.write_whole(path, lambda fh: np.savez(fh, xy=result.xy, z=result.z, **extra), RESULT_CACHE_KEEP)
    except OSError as exc:  # a read-only or full cache must not fail the build
        log.warning("reduce: could not cache the result in %s: %s", path.parent, exc)


def exact_knn(x: np.ndarray, k: int, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k-nearest neighbours of the unit-vector rows of ``x``, self included first.

    Returns (indices int32 (n, k), cosine distances float32 (n, k)), nearest first, ties by index.
    One (block, n) matrix product at a time, then a compiled per-row selection of the k largest
    similarities.
    """
    return _blocked_knn(x, x, k, block, self_first=True)


def knn_query(queries: np.ndarray, data: np.ndarray, k: int, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k-nearest neighbours among the unit-vector rows of ``data`` for each row of ``queries``.

    Returns (indices into ``data`` int32 (m, k), cosine distances float32 (m, k)), nearest first, ties
    by index. A query row is never treated as its own neighbour (the two sets are distinct). The same
    bits with any number of BLAS threads (``_one_blas_thread``): placement runs in the driver's threads on
    the local engine and in single-CPU tasks on Ray, and must give the same database on both.
    """
    return _blocked_knn(queries, data, k, block, self_first=False, any_threads=True)


def _blocked_knn(queries: np.ndarray, data: np.ndarray, k: int, block: int, self_first: bool,
                 any_threads: bool = False) -> tuple[np.ndarray, np.ndarray]:
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    data = np.ascontiguousarray(data, dtype=np.float32)
    m, k = queries.shape[0], min(k, data.shape[0])
    indices = np.empty((m, k), dtype=np.int32)
    dists = np.empty((m, k), dtype=np.float32)
    select = _select_kernel()
    no_self = -(data.shape[0] + block + 1)  # an offset under which no column is "self"

    def select_block(lo: int, sim: np.ndarray) -> None:
        select(sim, lo if self_first else no_self, indices[lo : lo + block], dists[lo : lo + block])

    if not any_threads:
        for lo in range(0, m, block):
            select_block(lo, queries[lo : lo + block] @ data.T)
    else:
        # One BLAS thread per product (its bits then do not depend on the thread count: OpenBLAS's sgemm
        # differs in the last bits between 1 and 2 threads on some CPUs), the products of up to as many blocks
        # as BLAS had threads computed side by side, each selected in order as it completes.
        with _one_blas_thread() as threads, ThreadPoolExecutor(max_workers=threads) as pool:
            pending: deque = deque()
            for lo in range(0, m, block):
                pending.append((lo, pool.submit(np.matmul, queries[lo : lo + block], data.T)))
                if len(pending) > threads:
                    done, future = pending.popleft()
                    select_block(done, future.result())
            for done, future in pending:
                select_block(done, future.result())
    np.clip(1.0 - dists, 0.0, 2.0, out=dists)  # similarity -> cosine distance
    return indices, dists


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter: Any = None
_blas_threads = 1


@contextlib.contextmanager
def _one_blas_thread():
    """BLAS limited to one thread while any caller is inside (threads of one process share the limit, so it is
    counted, not nested); yields the number of threads BLAS had before, for the caller's own parallelism."""
    global _blas_users, _blas_limiter, _blas_threads
    from threadpoolctl import threadpool_info, threadpool_limits

    with _blas_lock:
        if _blas_users == 0:
            _blas_threads = max([lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"] or [1])
            _blas_limiter = threadpool_limits(limits=1, user_api="blas")
        _blas_users += 1
        threads = _blas_threads
    try:
        yield max(1, threads)
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


def _select_largest(sim, offset, out_idx, out_sim):  # compiled by _select_kernel
    k = out_idx.shape[1]
    for r in numba.prange(sim.shape[0]):
        best_s = np.full(k, -np.inf, dtype=np.float32)
        best_i = np.full(k, -1, dtype=np.int32)
        worst = np.float32(-np.inf)
        for j in range(sim.shape[1]):
            v = np.float32(2.0) if j == r + offset else sim[r, j]  # self first, even beside exact duplicates
            if v > worst:  # strict: on ties the earlier index stays
                p = k - 1
                while p > 0 and best_s[p - 1] < v:
                    best_s[p] = best_s[p - 1]
                    best_i[p] = best_i[p - 1]
                    p -= 1
                best_s[p] = v
                best_i[p] = j
                worst = best_s[k - 1]
        out_idx[r] = best_i
        out_sim[r] = best_s


_select = None


def _select_kernel():
    # Compiled on first use, after configure_numba_cache, so it is cached in the right folder; numba
    # is bound as a module global here because the kernel's ``numba.prange`` is resolved from there.
    global _select, numba
    if _select is None:
        import numba

        _select = numba.njit(cache=True, parallel=True, nogil=True)(_select_largest)
    return _select


def _pca(x: np.ndarray, dims: int) -> np.ndarray:
    n = x.shape[0]
    out = np.zeros((n, dims), dtype=np.float32)
    if n < 2:
        return out
    centred = x.astype(np.float64) - x.mean(axis=0, dtype=np.float64)  # float64 LAPACK is much faster here
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    k = min(dims, len(s))
    scores = u[:, :k] * s[:k]
    # Fix each component's sign so the result does not depend on the SVD routine's choice.
    signs = np.sign(scores[np.abs(scores).argmax(axis=0), range(k)])
    signs[signs == 0] = 1
    out[:, :k] = scores * signs
    return out


_kernels_prepared = False
_parallel_fits = False


def prepare_umap_kernels() -> None:
    """Make umap's numba kernels cacheable on disk, and its serial epoch kernel release the GIL.

    umap marks only one kernel as cacheable, so without this every new process spends several
    seconds compiling the same graph and layout code. Only kernels not yet compiled in this process
    are affected; cache entries are keyed by umap's source file, so upgrading umap invalidates them.
    The epoch kernel is recompiled with ``nogil`` (same code and flags otherwise) so two seeded
    fits can run in parallel threads; if umap's internals differ from what is expected, the fits
    simply run one after the other.
    """
    global _kernels_prepared, _parallel_fits
    if _kernels_prepared:
        return
    _kernels_prepared = True
    import numba
    import umap.layouts

    kernel = getattr(umap.layouts, "_optimize_layout_euclidean_single_epoch", None)
    if kernel is not None and hasattr(umap.layouts, "_nb_optimize_layout_euclidean_single_epoch"):
        umap.layouts._nb_optimize_layout_euclidean_single_epoch = numba.njit(
            kernel, fastmath=True, parallel=False, nogil=True, cache=bool(os.environ.get("NUMBA_CACHE_DIR"))
        )
        _parallel_fits = True
    if not os.environ.get("NUMBA_CACHE_DIR"):
        return
    import numba.core.caching
    import umap.umap_
    import umap.utils
    from numba.core.registry import CPUDispatcher

    n = 0
    for module in (umap.umap_, umap.layouts, umap.utils):
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher) and not obj.signatures and isinstance(obj._cache, numba.core.caching.NullCache):
                try:
                    obj.enable_caching()
                    n += 1
                except Exception as exc:  # noqa: BLE001 - a kernel numba cannot cache just stays uncached
                    log.debug("reduce: cannot cache %s: %s", obj.__name__, exc)
    log.debug("reduce: disk cache enabled for %d umap kernels", n)
