"""Cluster stage: HDBSCAN on the 5-D UMAP output.

Input: an (n, k) float32 matrix (``Reduced.z``). Output: an (n,) int32 array of raw cluster labels,
``-1`` for points HDBSCAN leaves unclustered (noise; they are kept, never dropped). The raw numbers
carry no meaning: ``etl.label`` renumbers clusters deterministically before anything is published.
"""

from __future__ import annotations

import logging
import time

import numpy as np

log = logging.getLogger("redteam_risk.cluster")

MIN_ROWS = 50  # below this, density estimates are noise: everything goes in one cluster
SELECTION_METHOD = "eom"


def default_min_cluster_size(n: int) -> int:
    """``min_cluster_size`` scaled to ``n`` attacks: about 0.15 % of them, at least 10."""
    return max(10, round(0.0015 * n))


def default_min_samples(min_cluster_size: int) -> int:
    """Neighbours defining a core point; fewer than ``min_cluster_size`` leaves less noise."""
    return max(5, min_cluster_size // 2)


def cluster(
    z: np.ndarray,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    selection_method: str = SELECTION_METHOD,
) -> np.ndarray:
    """HDBSCAN labels for the rows of ``z``: an int32 array, ``-1`` = unclustered.

    ``min_cluster_size`` defaults to ``default_min_cluster_size(n)``, ``min_samples`` to
    ``default_min_samples(min_cluster_size)``. With fewer than ``MIN_ROWS`` rows every row is put
    in cluster 0. Deterministic for a given input.
    """
    start = time.perf_counter()
    n = z.shape[0]
    if n < MIN_ROWS:
        log.info("cluster: only %d rows (< %d), putting all of them in one cluster", n, MIN_ROWS)
        return np.zeros(n, dtype=np.int32)
    mcs = min_cluster_size or default_min_cluster_size(n)
    ms = min_samples or default_min_samples(mcs)
    ms = min(ms, n - 1)
    log.info("cluster: start, %d rows, min_cluster_size %d, min_samples %d, %s", n, mcs, ms, selection_method)
    import hdbscan

    model = hdbscan.HDBSCAN(
        min_cluster_size=mcs,
        min_samples=ms,
        metric="euclidean",
        cluster_selection_method=selection_method,
        core_dist_n_jobs=1,
    )
    labels = model.fit_predict(np.ascontiguousarray(z, dtype=np.float64)).astype(np.int32)
    n_clusters = int(labels.max()) + 1
    n_noise = int((labels < 0).sum())
    if n_clusters == 0:
        log.info("cluster: HDBSCAN found no cluster; every row is unclustered")
    log.info(
        "cluster: done in %.1f s, %d clusters, %d unclustered rows (%.0f %%)",
        time.perf_counter() - start, n_clusters, n_noise, 100 * n_noise / n,
    )
    return labels
