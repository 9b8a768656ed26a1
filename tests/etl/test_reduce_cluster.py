"""Reduce (UMAP) and cluster (HDBSCAN) stages on small synthetic embeddings.

Synthetic data: unit vectors around a few well-separated centres in 384-D, plus scattered points.
numba's compiled code goes to the product's cache folder so reruns of the suite skip compilation.
"""

from __future__ import annotations

import numpy as np
import pytest

import etl.cluster as cluster_mod
from etl import reduce
from etl.cluster import cluster, default_min_cluster_size

reduce.configure_numba_cache()


def blobs(n_per: int = 60, n_centres: int = 4, n_scatter: int = 0, dim: int = 384, seed: int = 0):
    """(vectors, true labels): unit vectors near ``n_centres`` random directions; scatter = -1."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_centres, dim))
    x = np.vstack([c + 0.25 * rng.standard_normal((n_per, dim)) for c in centres]
                  + [rng.standard_normal((n_scatter, dim))])
    truth = np.concatenate([np.full(n_per, i) for i in range(n_centres)] + [np.full(n_scatter, -1)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), truth


@pytest.fixture(scope="module")
def data():
    return blobs(n_scatter=20)


@pytest.fixture(scope="module")
def reduced(data):
    return reduce.reduce(data[0], seed=7)


def test_reduce_shapes_and_finite(data, reduced):
    n = data[0].shape[0]
    assert reduced.method == "umap"
    assert reduced.xy.shape == (n, 2) and reduced.z.shape == (n, 5)
    assert reduced.xy.dtype == np.float32 and np.isfinite(reduced.xy).all() and np.isfinite(reduced.z).all()
    assert set(reduced.seconds) == {"knn", "umap_5d", "umap_2d"}


def test_reduce_is_deterministic_for_a_seed(data, reduced):
    again = reduce.reduce(data[0], seed=7)
    np.testing.assert_array_equal(again.xy, reduced.xy)
    np.testing.assert_array_equal(again.z, reduced.z)
    other = reduce.reduce(data[0], seed=8)
    assert not np.array_equal(other.xy, reduced.xy)


def test_reduce_keeps_blobs_apart_on_the_map(data, reduced):
    _, truth = data
    centres = np.array([reduced.xy[truth == k].mean(axis=0) for k in range(4)])
    spread = max(np.linalg.norm(reduced.xy[truth == k] - centres[k], axis=1).mean() for k in range(4))
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(4) for j in range(i + 1, 4)]
    assert min(gaps) > 2 * spread


def test_reduce_result_cache_returns_the_same_arrays(tmp_path, data, reduced):
    first = reduce.reduce(data[0], seed=7, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.xy, reduced.xy)
    assert len(list((tmp_path / "reduce").glob("*.npz"))) == 1
    cached = reduce.reduce(data[0], seed=7, cache_dir=tmp_path)
    assert cached.seconds == {"cached": 0.0}
    np.testing.assert_array_equal(cached.xy, reduced.xy)
    np.testing.assert_array_equal(cached.z, reduced.z)
    params = {"seed": 7}
    key = reduce._result_path(tmp_path, data[0], params)
    assert reduce._result_path(tmp_path, data[0], {"seed": 8}) != key
    assert reduce._result_path(tmp_path, data[0][:-1], params) != key


def test_reduce_can_return_fitted_models(data):
    out = reduce.reduce(data[0][:80], seed=1, keep_models=True)
    map_model, cluster_model = out.models
    assert map_model.n_components == 2 and cluster_model.n_components == 5


@pytest.mark.parametrize("n", [0, 1, 2, 12, reduce.MIN_UMAP_ROWS - 1])
def test_reduce_tiny_inputs_use_pca(n):
    x = blobs(n_per=25, n_centres=2)[0][:n]
    out = reduce.reduce(x, seed=0)
    assert out.method == "pca"
    assert out.xy.shape == (n, 2) and out.z.shape == (n, 5)
    assert np.isfinite(out.z).all()
    np.testing.assert_array_equal(reduce.reduce(x, seed=0).z, out.z)


def test_exact_knn_matches_brute_force():
    x = blobs(n_per=30, n_centres=3, dim=16)[0]
    idx, dist = reduce.exact_knn(x, 10, block=17)
    full = 1.0 - x @ x.T
    np.fill_diagonal(full, -1.0)
    assert (idx[:, 0] == np.arange(len(x))).all()
    expected = np.sort(full, axis=1)[:, 1:10]
    np.testing.assert_allclose(dist[:, 1:], expected, atol=1e-5)
    assert (np.diff(dist, axis=1) >= 0).all()


def test_cluster_finds_blobs_and_keeps_noise_as_minus_one():
    rng = np.random.default_rng(3)
    centres = rng.uniform(-20, 20, size=(4, 5))
    z = np.vstack([c + 0.3 * rng.standard_normal((60, 5)) for c in centres] + [rng.uniform(-60, 60, size=(30, 5))])
    truth = np.repeat([0, 1, 2, 3, -1], [60, 60, 60, 60, 30])
    labels = cluster(z.astype(np.float32), min_cluster_size=15)
    assert labels.dtype == np.int32 and labels.shape == truth.shape
    assert (labels[truth == -1] == -1).mean() > 0.8  # scattered points stay unclustered, still present
    majority = [np.bincount(labels[truth == k][labels[truth == k] >= 0]).argmax() for k in range(4)]
    assert len(set(majority)) == 4
    for k in range(4):
        assert (labels[truth == k] == majority[k]).mean() > 0.9


def test_cluster_on_umap_output_recovers_blobs(data, reduced):
    labels = cluster(reduced.z, min_cluster_size=15)
    truth = data[1]
    majority = [np.bincount(labels[truth == k][labels[truth == k] >= 0]).argmax() for k in range(4)]
    assert len(set(majority)) == 4


def test_cluster_is_deterministic(reduced):
    np.testing.assert_array_equal(cluster(reduced.z), cluster(reduced.z))


def test_cluster_tiny_input_is_one_cluster(caplog):
    z = np.random.default_rng(0).standard_normal((30, 5)).astype(np.float32)
    with caplog.at_level("INFO", logger="redteam_risk.cluster"):
        labels = cluster(z)
    assert labels.tolist() == [0] * 30
    assert "one cluster" in caplog.text
    assert cluster(np.zeros((0, 5), dtype=np.float32)).shape == (0,)


def test_default_min_cluster_size_grows_with_data():
    assert default_min_cluster_size(100) >= 5
    assert default_min_cluster_size(40_000) > default_min_cluster_size(10_000) > default_min_cluster_size(1_000)


def test_one_dominant_cluster_is_split_into_its_sub_clusters(caplog):
    rng = np.random.default_rng(2)
    sub = rng.uniform(-1.5, 1.5, size=(6, 5))  # six sub-groups close enough for "eom" to merge them
    z = np.vstack([c + 0.3 * rng.standard_normal((100, 5)) for c in sub] + [40 + 0.3 * rng.standard_normal((60, 5))])
    with caplog.at_level("INFO", logger="redteam_risk.cluster"):
        labels = cluster(z.astype(np.float32), min_cluster_size=20)
    assert "leaf selection" in caplog.text
    sizes = np.bincount(labels[labels >= 0])
    assert len(sizes) >= 6 and sizes.max() < 0.5 * len(z)


def test_noise_is_attached_to_its_nearest_cluster_with_its_strength():
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0, 0, 0, 0], [8, 8, 0, 0, 0], [0, 8, 8, 0, 0]], dtype=np.float64)
    z = np.vstack([np.vstack([c + rng.normal(scale=0.5, size=(80, 5)) for c in centres]),
                   [[40, -40, 40, -40, 40]]])  # and one point far from everything
    result = cluster_mod.fit(z)
    assert int(result.labels.max()) + 1 == 3 and result.labels[-1] == -1
    assert np.all((result.strength >= 0) & (result.strength <= 1))
    assert (result.strength[result.labels < 0] == 0).all() and (result.strength[result.labels >= 0] > 0).all()
    # points HDBSCAN left out next to a cluster join it, with their soft membership as strength; the far one stays out
    labels = result.labels.copy()
    left_out = np.array([0, 1, 80, 81, 160, 161])
    labels[left_out] = -1
    attached, strength = cluster_mod.attach_noise(result.model, z, labels)
    assert (attached[left_out] == result.labels[left_out]).all()
    assert attached[-1] == -1 and strength[-1] == 0
    assert ((strength[left_out] > 0) & (strength[left_out] <= 1)).all()
    np.testing.assert_array_equal(np.delete(attached, left_out), np.delete(result.labels, left_out))


# --- consensus of several fits (small inputs) ---------------------------------------------------------------

def test_consensus_fits_depend_only_on_the_row_count():
    fits = {n: cluster_mod.consensus_fits(n) for n in (49, 50, 313, 1066, 1067, 2312, 4000, 5333, 5334, 38_961)}
    assert fits == {49: 1, 50: 16, 313: 16, 1066: 16, 1067: 15, 2312: 7, 4000: 5, 5333: 4, 5334: 1, 38_961: 1}
    # the extra fits never optimise more rows than the budget
    assert all((k - 1) * n <= cluster_mod.CONSENSUS_BUDGET_ROWS for n, k in fits.items())


def test_reduce_makes_extra_fits_with_derived_seeds_and_caches_them(tmp_path, data, reduced):
    out = reduce.reduce(data[0], seed=7, consensus_fits=3, cache_dir=tmp_path)
    # the run's own fits are those of a single-fit reduce with the seed; the extra fits are different layouts
    np.testing.assert_array_equal(out.z, reduced.z)
    np.testing.assert_array_equal(out.xy, reduced.xy)
    assert len(out.z_extra) == 2 and all(e.shape == reduced.z.shape and np.isfinite(e).all() for e in out.z_extra)
    assert not np.array_equal(out.z_extra[0], out.z) and not np.array_equal(out.z_extra[0], out.z_extra[1])
    assert "umap_5d_extra" in out.seconds
    # another run seed derives other seeds for its extra fits
    assert {reduce.derived_seed(7, i) for i in (1, 2)}.isdisjoint({reduce.derived_seed(8, i) for i in (1, 2)} | {7, 8})
    cached = reduce.reduce(data[0], seed=7, consensus_fits=3, cache_dir=tmp_path)
    assert cached.seconds == {"cached": 0.0} and len(cached.z_extra) == 2
    for a, b in zip(cached.z_extra, out.z_extra, strict=True):
        np.testing.assert_array_equal(a, b)
    single = reduce.reduce(data[0], seed=7, cache_dir=tmp_path)  # not the consensus result read back
    assert single.z_extra == () and single.seconds != {"cached": 0.0}


def _fits_of_three_groups(seed: int, merge_first_two: bool) -> np.ndarray:
    """A 5-D "fit" of 3 groups of 60 rows (rows 0-59, 60-119, 120-179) plus one outlier row, the groups placed at
    seed-dependent spots (so cluster numbers differ between fits); optionally the first two groups overlap."""
    rng = np.random.default_rng(seed)
    spots = rng.permutation(np.array([[0.0] * 5, [10.0] * 5, [-10.0] * 5]))
    if merge_first_two:
        spots[1] = spots[0] + 0.3
    z = np.vstack([s + rng.normal(scale=0.6, size=(60, 5)) for s in spots] + [np.full((1, 5), 80.0)])
    return z


def test_consensus_keeps_the_groups_most_fits_agree_on():
    fits = [_fits_of_three_groups(s, merge_first_two=(s == 2)) for s in range(5)]  # one fit of five merges two groups
    single = cluster_mod.fit(fits[2])
    assert int(single.labels[:180].max()) + 1 == 2  # that fit alone finds only two groups
    result = cluster_mod.fit(fits[0], z_extra=fits[1:])
    truth = np.repeat([0, 1, 2], 60)
    labels = result.labels
    assert result.model is None and result.settings["consensus"]["fits"] == 5
    assert int(labels.max()) + 1 == 3
    assert all(len(set(labels[:180][truth == g])) == 1 for g in range(3)) and len(set(labels[[0, 60, 120]])) == 3
    assert labels[0] == 0 and labels[60] == 1 and labels[120] == 2  # numbered by first row, not by any fit
    assert labels[-1] == -1 and result.strength[-1] == 0  # never clustered with anyone
    assert ((result.strength[:180] > 0.5) & (result.strength[:180] <= 1)).all()
    # the order of the fits does not matter
    again = cluster_mod.fit(fits[3], z_extra=[fits[1], fits[4], fits[0], fits[2]])
    np.testing.assert_array_equal(again.labels, labels)
    np.testing.assert_allclose(again.strength, result.strength, atol=1e-6)


def test_co_association_counts_shared_clusters_only():
    co = cluster_mod.co_association([np.array([0, 0, 1, -1]), np.array([1, 1, 1, -1])])
    np.testing.assert_allclose(co, [[1, 1, 0.5, 0], [1, 1, 0.5, 0], [0.5, 0.5, 1, 0], [0, 0, 0, 0]])


def test_large_inputs_get_fewer_umap_epochs_small_ones_umaps_default():
    from etl.reduce import LARGE_INPUT_EPOCHS, LARGE_INPUT_ROWS, epochs_for

    assert epochs_for(LARGE_INPUT_ROWS) is None  # umap's default (500) up to the threshold
    assert epochs_for(LARGE_INPUT_ROWS + 1) == LARGE_INPUT_EPOCHS < 200  # fewer than umap's 200 above it
    assert epochs_for(LARGE_INPUT_ROWS + 1, 300) == 300 and epochs_for(10, 7) == 7  # an explicit count wins
