"""Cluster stage: HDBSCAN on the 5-D UMAP output (for small inputs, on the consensus of several UMAP fits).

Input: an (n, k) float32 matrix (``Reduced.z``). Output: an (n,) int32 array of raw cluster labels,
``-1`` for points HDBSCAN leaves unclustered (noise; they are kept, never dropped). The raw numbers
carry no meaning: ``etl.label`` renumbers clusters deterministically before anything is published.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger("redteam_risk.cluster")

MIN_ROWS = 50  # below this, density estimates are noise: everything goes in one cluster
SELECTION_METHOD = "eom"
# On diffuse real text (e.g. hh-rlhf's 2,312 red-team openings) "eom" can return one cluster holding
# over 90 % of the rows, which says nothing. When the largest cluster exceeds DOMINANT_SHARE of the
# rows, "leaf" selection (the finest clusters of at least min_cluster_size) is used instead if it
# finds more clusters: 35 on hh-rlhf, 40 % unclustered. (Capping eom's cluster size instead can
# turn the whole dominant cluster into noise.)
DOMINANT_SHARE = 0.5
# Noise points join their most probable cluster (HDBSCAN soft membership) when that membership is at least this
# many times the uniform share 1/k; they keep the membership as their strength, so the map can show them as weak.
# On real sets the demo-tuned scale left 33-40 % of requests unclustered; attached, 0-2 % remain (docs/taxonomy.md).
ATTACH_MIN_RATIO = 0.5
# Small inputs are clustered by consensus over several UMAP fits (``fit`` with ``z_extra``): one UMAP optimisation of
# a few hundred rows lands in a different local optimum per seed, and HDBSCAN on it follows (StrongREJECT's 313
# requests: ARI 0.56-0.73 between seeds). The reduce stage then makes several 5-D fits (the run's seed and seeds
# derived from it), each is clustered as usual, and HDBSCAN, with the same settings, clusters the rows by their
# co-association distance (1 - the share of fits in which two rows share a cluster). ``consensus_fits``: as many fits
# as the extra ones' cost allows, at most CONSENSUS_FITS; the extra fits together optimise at most
# CONSENSUS_BUDGET_ROWS rows (at UMAP's 500 epochs below 10,000 rows: the work of one 5-D fit of 40,000 rows at its
# 200 epochs); fewer than CONSENSUS_MIN_FITS fits make no consensus, so inputs above 5,333 rows get one fit.
# Chosen on StrongREJECT and the demo (docs/taxonomy.md "Clusters on real text").
CONSENSUS_FITS = 16
CONSENSUS_MIN_FITS = 4
CONSENSUS_BUDGET_ROWS = 16_000


def default_min_cluster_size(n: int) -> int:
    """``min_cluster_size`` scaled to ``n`` attacks: 0.25 % of them, but at least 20 (fewer for
    inputs under 200 rows: a tenth of them, at least 5).

    Tuned on the demo data (108 true subtopics), seeds 0 vs 1: 20 at 4,000 rows, 25 at 10,000 and 97
    at 38,961 give NMI 0.92–0.96 against the subtopics and seed-to-seed ARI 0.91–0.96 over all points;
    smaller sizes split subtopics and make noise membership churn between seeds (ARI 0.66–0.78).
    """
    return max(round(0.0025 * n), min(20, max(5, n // 10)))


def consensus_fits(n: int) -> int:
    """How many 5-D UMAP fits the clusters of ``n`` rows are a consensus of: 1 + ``CONSENSUS_BUDGET_ROWS`` // n, at
    most ``CONSENSUS_FITS`` (16 up to 1,066 rows, 7 at 2,312, 5 at 4,000); 1 (HDBSCAN on the one fit) under
    ``MIN_ROWS`` rows or when that is under ``CONSENSUS_MIN_FITS`` (above 5,333 rows). It depends only on ``n``,
    never on the seed, so two seeds always cluster the same way."""
    if n < MIN_ROWS:
        return 1
    fits = min(CONSENSUS_FITS, 1 + CONSENSUS_BUDGET_ROWS // n)
    return fits if fits >= CONSENSUS_MIN_FITS else 1


def default_min_samples(min_cluster_size: int) -> int:
    """Neighbours defining a core point: half of ``min_cluster_size`` (at least 5), which kept both
    the noise share (~3 %) and its seed-to-seed churn lowest in the demo tuning."""
    return max(5, min_cluster_size // 2)


@dataclass
class Clustering:
    """``labels``: (n,) int32 raw labels, -1 = unclustered (after noise attachment). ``model``: the fitted
    ``hdbscan.HDBSCAN`` (None when the input was too small to cluster), for ``predict`` on new points.
    ``strength``: (n,) 0–1 membership strength (HDBSCAN's probability for members, the soft membership for
    attached noise points, 0 for the unclustered); ``settings``: the min_cluster_size / min_samples used and how
    they were chosen."""

    labels: np.ndarray
    model: Any = None
    strength: np.ndarray | None = None
    settings: dict | None = None


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
    return fit(z, min_cluster_size, min_samples, selection_method).labels


def fit(
    z: np.ndarray,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    selection_method: str = SELECTION_METHOD,
    z_extra: tuple[np.ndarray, ...] | list[np.ndarray] = (),
) -> Clustering:
    """As ``cluster``, also returning the fitted model, strengths and settings (see ``Clustering``). Noise points
    are then attached to their most probable cluster (``attach_noise``).

    ``z_extra``: more fits of the same rows (``etl.reduce.Reduced.z_extra``); with them the clusters are the
    consensus of ``z`` and ``z_extra`` (``fit_consensus``) and ``model`` is None.

    Choosing the settings per input by resampling stability was tried on the real sets and dropped: the choice
    itself changed with the UMAP seed, so seed-to-seed ARI fell (StrongREJECT 0.74 -> 0.54 on one variant).
    """
    start = time.perf_counter()
    n = z.shape[0]
    if n < MIN_ROWS:
        log.info("cluster: only %d rows (< %d), putting all of them in one cluster", n, MIN_ROWS)
        return Clustering(np.zeros(n, dtype=np.int32), strength=np.ones(n), settings={"chosen_by": "too few rows"})
    z = np.ascontiguousarray(z, dtype=np.float64)
    chosen_by = "given" if min_cluster_size else "default"
    mcs = min_cluster_size or default_min_cluster_size(n)
    ms = min_samples or default_min_samples(mcs)
    ms = min(ms, n - 1)
    log.info("cluster: start, %d rows, min_cluster_size %d, min_samples %d (%s), %s", n, mcs, ms, chosen_by,
             selection_method)
    if len(z_extra):
        return fit_consensus([z, *z_extra], mcs, ms, selection_method, chosen_by, start)
    labels, model = _fit_one(z, mcs, ms, selection_method)
    n_noise_raw = int((labels < 0).sum())
    labels, strength = attach_noise(model, z, labels)
    n_clusters = int(labels.max()) + 1
    n_noise = int((labels < 0).sum())
    if n_clusters == 0:
        log.info("cluster: HDBSCAN found no cluster; every row is unclustered")
    log.info(
        "cluster: done in %.1f s, %d clusters, %d unclustered rows (%.0f %%; %d attached to their nearest cluster)",
        time.perf_counter() - start, n_clusters, n_noise, 100 * n_noise / n, n_noise_raw - n_noise,
    )
    return Clustering(labels, model, strength,
                      {"min_cluster_size": mcs, "min_samples": ms, "chosen_by": chosen_by,
                       "attached": n_noise_raw - n_noise})


def fit_consensus(zs: list[np.ndarray], mcs: int, ms: int, selection_method: str = SELECTION_METHOD,
                  chosen_by: str = "given", start: float | None = None) -> Clustering:
    """Consensus clusters of several fits ``zs`` (each (n, k)) of the same rows.

    Each fit is clustered as a single fit would be (HDBSCAN ``mcs`` / ``ms``, leaf fallback, ``attach_noise``). The
    co-association of two rows is the share of fits in which they share a cluster; HDBSCAN with the same settings
    clusters the rows on the distance 1 - co-association. Rows it leaves unclustered join the cluster they share
    most fits with (mean co-association with its members) when that share is at least ``ATTACH_MIN_RATIO`` / k, as
    in ``attach_noise``. ``strength`` is that mean co-association for every clustered row (members: with the other
    members). Clusters are numbered by their first row, so the result depends only on the fits. ``model`` is None:
    new rows are placed by their neighbours' clusters (``etl.place``)."""
    import hdbscan

    start = time.perf_counter() if start is None else start
    n = zs[0].shape[0]
    each = []
    for z in zs:
        z = np.ascontiguousarray(z, dtype=np.float64)
        labels, model = _fit_one(z, mcs, ms, selection_method)
        each.append(attach_noise(model, z, labels)[0])
    co = co_association(each)
    distance = 1.0 - co.astype(np.float64)
    np.fill_diagonal(distance, 0.0)
    raw = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=min(ms, n - 1), metric="precomputed",
                          cluster_selection_method=selection_method).fit_predict(distance)
    first = {}
    for label in raw[raw >= 0].tolist():
        first.setdefault(label, len(first))
    labels = np.array([first.get(label, -1) for label in raw.tolist()], dtype=np.int32)
    k = len(first)
    strength = np.zeros(n)
    n_noise_raw = int((labels < 0).sum())
    if k:
        onehot = np.zeros((n, k), dtype=np.float32)
        onehot[np.flatnonzero(labels >= 0), labels[labels >= 0]] = 1.0
        sizes = onehot.sum(axis=0)
        total = co @ onehot  # (n, k): summed co-association with each cluster's members
        member = labels >= 0
        own = labels[member]
        rows = np.flatnonzero(member)
        # a member's share with the *other* members of its cluster
        strength[rows] = (total[rows, own] - co[rows, rows]) / np.maximum(sizes[own] - 1.0, 1.0)
        noise = np.flatnonzero(~member)
        share = total[noise] / sizes
        best = share.argmax(axis=1)
        value = share[np.arange(len(noise)), best]
        ok = value >= ATTACH_MIN_RATIO / k
        labels[noise[ok]] = best[ok].astype(np.int32)
        strength[noise[ok]] = value[ok]
    strength = np.clip(strength, 0.0, 1.0)
    n_noise = int((labels < 0).sum())
    per_fit = [int(e.max()) + 1 for e in each]
    log.info("cluster: consensus of %d fits (%d-%d clusters each) in %.1f s: %d clusters, %d unclustered rows "
             "(%.0f %%; %d attached)", len(zs), min(per_fit), max(per_fit), time.perf_counter() - start, k, n_noise,
             100 * n_noise / n, n_noise_raw - n_noise)
    return Clustering(labels, None, strength,
                      {"min_cluster_size": mcs, "min_samples": ms, "chosen_by": chosen_by,
                       "attached": n_noise_raw - n_noise,
                       "consensus": {"fits": len(zs), "clusters_per_fit": per_fit}})


def co_association(labelings: list[np.ndarray]) -> np.ndarray:
    """(n, n) float32: for two rows, the share of ``labelings`` (each (n,) int, -1 = unclustered) that put both in
    the same cluster (an unclustered row shares none; the diagonal is the share of labelings clustering the row)."""
    n = len(labelings[0])
    co = np.zeros((n, n), dtype=np.float32)
    for labels in labelings:
        labels = np.asarray(labels)
        clustered = np.flatnonzero(labels >= 0)
        onehot = np.zeros((n, int(labels.max()) + 1 if len(clustered) else 0), dtype=np.float32)
        onehot[clustered, labels[clustered]] = 1.0
        co += onehot @ onehot.T
    return co / len(labelings)


def _fit_one(z: np.ndarray, mcs: int, ms: int, selection_method: str) -> tuple[np.ndarray, Any]:
    """HDBSCAN labels and model; "eom" falls back to "leaf" when one cluster holds over ``DOMINANT_SHARE``."""
    import hdbscan

    def run(method: str) -> tuple[np.ndarray, Any]:
        model = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=min(ms, len(z) - 1), metric="euclidean",
                                cluster_selection_method=method, core_dist_n_jobs=1, prediction_data=True)
        return model.fit_predict(z).astype(np.int32), model

    labels, model = run(selection_method)
    largest = int(np.bincount(labels[labels >= 0]).max()) if (labels >= 0).any() else 0
    if selection_method == "eom" and largest > DOMINANT_SHARE * len(z):
        leaf, leaf_model = run("leaf")
        if leaf.max() > labels.max():
            log.info("cluster: one cluster held %d of %d rows; using leaf selection (%d clusters) instead",
                     largest, len(z), int(leaf.max()) + 1)
            labels, model = leaf, leaf_model
    return labels, model


def attach_noise(model: Any, z: np.ndarray, labels: np.ndarray,
                 strength: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(labels, strength): noise points whose best soft membership (``hdbscan.membership_vector``) is at least
    ``ATTACH_MIN_RATIO`` / k join that cluster with the membership as strength; members keep their strength
    (default: HDBSCAN's probability, for the points the model was fitted on; give ``strength`` for predicted
    points); the rest stay -1 with strength 0."""
    import hdbscan

    labels = np.asarray(labels, dtype=np.int32).copy()
    given = np.asarray(model.probabilities_ if strength is None else strength, dtype=np.float64)
    strength = np.where(labels >= 0, given, 0.0)
    noise = np.flatnonzero(labels < 0)
    k = int(model.labels_.max()) + 1 if strength is not None else int(labels.max()) + 1
    if k <= 0 or len(noise) == 0:
        return labels, strength
    if getattr(model, "_prediction_data", None) is None:
        model.generate_prediction_data()
    soft = np.asarray(hdbscan.membership_vector(model, np.ascontiguousarray(z[noise], dtype=np.float64)))
    soft = soft.reshape(len(noise), -1)
    if soft.shape[1] != k:  # hdbscan gives one column per selected cluster; anything else: attach nothing
        log.warning("cluster: soft membership has %d columns for %d clusters; noise left unattached",
                    soft.shape[1], k)
        return labels, strength
    best = soft.argmax(axis=1)
    value = soft[np.arange(len(noise)), best]
    ok = value >= ATTACH_MIN_RATIO / k
    labels[noise[ok]] = best[ok].astype(np.int32)
    strength[noise[ok]] = np.clip(value[ok], 0.0, 1.0)
    return labels, strength


def predict(model: Any, z: np.ndarray) -> np.ndarray:
    """Raw labels of new points ``z`` (m, k) in the clusters of a fitted ``model`` (``Clustering.model``),
    by HDBSCAN's approximate prediction: int32, -1 = unclustered. The training labels do not change."""
    return predict_with_strength(model, z)[0]


def predict_with_strength(model: Any, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """As ``predict``, also returning each point's membership strength 0–1 (0 when unclustered)."""
    import hdbscan

    if len(z) == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0)
    if getattr(model, "_prediction_data", None) is None:
        model.generate_prediction_data()
    if model.prediction_data_.cluster_tree.shape[0] == 0:  # no cluster at all: hdbscan would warn
        return np.full(len(z), -1, dtype=np.int32), np.zeros(len(z))
    labels, strength = hdbscan.approximate_predict(model, np.ascontiguousarray(z, dtype=np.float64))
    labels = np.asarray(labels, dtype=np.int32)
    return labels, np.where(labels >= 0, np.asarray(strength, dtype=np.float64), 0.0)
