"""Incremental placement (etl/place.py): new attacks placed on an earlier full fit's map and clusters.

The pipeline tests swap the sentence-transformers model for a deterministic stand-in (hashed word counts),
so they run the real UMAP, HDBSCAN, state files and pipeline in seconds; the slow test checks placement
quality with the real model against the demo's ground truth.
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from etl import cluster, embed, place, reduce
from etl.demo import write_demo
from etl.pipeline import EtlConfig, run

reduce.configure_numba_cache()

OLD_ROWS, NEW_ROWS = 1200, 80


class HashEmbedder:
    """Stand-in for ``etl.embed.Embedder``: L2-normalised hashed word and word-pair counts, 384-d.

    A fixed function of each text, like the real model, so cached and fresh vectors agree."""

    def preload_if_cold(self) -> None:  # nothing to load
        return None

    def __init__(self, model=None, cache_dir=None, batch_size=64, progress=True, precision="auto", backend="torch"):
        from sklearn.feature_extraction.text import HashingVectorizer

        self.model_id = "test-hashing-embedder"
        self.precision = "float32"
        self.backend = "torch"
        self._vectorizer = HashingVectorizer(n_features=384, alternate_sign=False, ngram_range=(1, 2),
                                             stop_words="english", norm="l2")

    def encode(self, texts):
        x = self._vectorizer.transform(["" if t is None else t for t in texts]).toarray().astype(np.float32)
        x[~x.any(axis=1), 0] = 1.0  # a text with no usable word still gets a unit vector
        return x

    __call__ = encode

    def encode_to(self, texts, path, chunk_rows=None):
        """As ``Embedder.encode_to``: the vectors written to a file ``chunk_rows`` at a time."""
        from etl import settings
        from etl.vectors import VectorFile

        size = chunk_rows or settings.VECTOR_CHUNK_ROWS
        out = VectorFile.create(path, len(texts), 384)
        for lo in range(0, len(texts), size):
            out.write(lo, self.encode(texts[lo : lo + size]))
        return out


def _config(inputs, db, cache, **kw) -> EtlConfig:
    return EtlConfig(inputs=tuple(inputs), db=db, cache_dir=cache, progress=False, **kw)


def _runs(db: Path) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select run_id, parameters from runs order by started_at").fetchall()
    finally:
        con.close()
    return [{"run_id": r, **json.loads(p)} for r, p in rows]


def _attacks(db: Path) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("select attack_id, source_file, source_row, embed_text, cluster_id, x, y from attacks "
                       "order by source_file, source_row").pl()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A full build of OLD_ROWS demo attacks (its database kept as ``cold.duckdb``), then the same database
    after an incremental run with NEW_ROWS more attacks of another seed (``risk.duckdb``)."""
    folder = tmp_path_factory.mktemp("place")
    old, new = folder / "old.json", folder / "new.json"
    write_demo(old, rows=OLD_ROWS, seed=0)
    write_demo(new, rows=NEW_ROWS, seed=1)
    db, cache = folder / "risk.duckdb", folder / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(embed, "Embedder", HashEmbedder)
        cold = run(_config([old], db, cache))
        shutil.copy2(db, folder / "cold.duckdb")
        incremental = run(_config([old, new], db, cache))
    return {"folder": folder, "old": old, "new": new, "db": db, "cold_db": folder / "cold.duckdb", "cache": cache,
            "cold": cold, "incremental": incremental}


def test_full_fit_saves_a_state_and_records_its_mode(built):
    (cold_run,) = _runs(built["cold_db"])
    placement = cold_run["placement"]
    assert {k: placement[k] for k in ("mode", "base_run")} == {"mode": "full", "base_run": built["cold"].run_id}
    assert placement["hdbscan"]["min_cluster_size"] >= 5 and placement["hdbscan"]["attached"] >= 0
    # a build this small is clustered by consensus of several UMAP fits, recorded with the settings
    assert placement["hdbscan"]["consensus"]["fits"] == cluster.consensus_fits(OLD_ROWS) > 1
    assert cold_run["recluster_share"] == place.DEFAULT_RECLUSTER_SHARE
    state = place.load_state(built["cache"], built["cold"].run_id)
    assert state is not None and len(state.keys) == OLD_ROWS
    assert state.xy.shape == (OLD_ROWS, 2) and state.z.shape == (OLD_ROWS, reduce.CLUSTER_DIMS)
    cold = _attacks(built["cold_db"])
    assert np.array_equal(state.keys, embed.text_keys(cold["embed_text"].to_list()))
    np.testing.assert_array_equal(state.xy[:, 0], cold["x"].to_numpy().astype(np.float32))
    published = [state.cluster_ids[int(r)] for r in state.raw_labels]
    assert published == cold["cluster_id"].to_list()


def test_incremental_run_places_only_the_new_rows_and_keeps_the_old_ones(built):
    cold, after = _attacks(built["cold_db"]), _attacks(built["db"])
    new_texts = set(after["embed_text"].to_list()) - set(cold["embed_text"].to_list())
    n_new = after.filter(pl.col("embed_text").is_in(list(new_texts))).height
    assert n_new > 0.9 * NEW_ROWS
    last = _runs(built["db"])[-1]
    assert last["run_id"] == built["incremental"].run_id
    assert last["placement"] == {"mode": "incremental", "base_run": built["cold"].run_id, "placed": n_new,
                                 "placed_texts": len(new_texts), "removed": 0}
    assert {"reduce", "cluster"} <= set(built["incremental"].stage_seconds)

    both = cold.join(after, on="attack_id", suffix="_after")
    assert both.height == OLD_ROWS
    assert (both["x"] == both["x_after"]).all() and (both["y"] == both["y_after"]).all()
    # Old rows keep their published cluster ids (and labels stay attached to the same groups).
    assert (both["cluster_id"] == both["cluster_id_after"]).all()

    placed = after.filter(pl.col("embed_text").is_in(list(new_texts)))
    xy = placed.select("x", "y").to_numpy()
    assert np.isfinite(xy).all() and len(np.unique(xy, axis=0)) > 0.9 * len(xy)
    lo, hi = cold.select("x", "y").to_numpy().min(axis=0), cold.select("x", "y").to_numpy().max(axis=0)
    assert ((xy >= lo - 1) & (xy <= hi + 1)).all()  # on the existing map, not somewhere new


@pytest.mark.parametrize("which", ["cold_db", "db"])
def test_full_and_incremental_builds_store_every_attacks_vector(built, which):
    con = duckdb.connect(str(built[which]), read_only=True)
    try:
        stored = con.sql("select a.attack_id, a.embed_text, e.vector from attacks a "
                         "left join attack_embeddings e using (attack_id) order by a.source_file, a.source_row").pl()
        n_search = con.sql("select count(*) from attack_search").fetchall()[0][0]
    finally:
        con.close()
    assert stored["vector"].null_count() == 0 and n_search == stored.height
    want = HashEmbedder().encode(stored["embed_text"].to_list())
    np.testing.assert_array_equal(np.stack(stored["vector"].to_list()).astype(np.float32), want)


def test_new_rows_join_the_cluster_of_their_nearest_old_rows(built):
    after = _attacks(built["db"])
    cold_texts = set(_attacks(built["cold_db"])["embed_text"].to_list())
    is_new = after["embed_text"].is_in(list(cold_texts)).not_().to_numpy()
    vectors = HashEmbedder().encode(after["embed_text"].to_list())
    ids = after["cluster_id"].to_numpy()
    old_idx = np.flatnonzero(~is_new)
    # where most (6) of a new row's 10 nearest old rows (by embedding) share a cluster, it should join it
    agree = total = 0
    for i in np.flatnonzero(is_new):
        nearest = old_idx[np.argsort(-(vectors[old_idx] @ vectors[i]), kind="stable")[:10]]
        values, counts = np.unique(ids[nearest], return_counts=True)
        if counts.max() >= 6 and values[counts.argmax()] >= 0:
            total += 1
            agree += ids[i] == values[counts.argmax()]
    assert total >= 15
    assert agree / total >= 0.8


def test_a_corrupt_state_means_a_full_fit_with_a_warning(built, tmp_path, monkeypatch, caplog):
    db, cache = tmp_path / "risk.duckdb", tmp_path / "cache"
    shutil.copy2(built["cold_db"], db)
    shutil.copytree(built["cache"], cache)
    place.state_path(cache, built["cold"].run_id).write_bytes(b"\x80\x05 not a pickle")
    monkeypatch.setattr(embed, "Embedder", HashEmbedder)
    with caplog.at_level(logging.WARNING, logger="redteam_risk.place"):
        summary = run(_config([built["old"], built["new"]], db, cache))
    assert any("unusable placement state" in r.getMessage() for r in caplog.records)
    placement = _runs(db)[-1]["placement"]
    assert (placement["mode"], placement["base_run"]) == ("full", summary.run_id)
    assert place.load_state(cache, summary.run_id) is not None  # the refit saved a fresh state
    assert _attacks(db).height == OLD_ROWS + NEW_ROWS


# --- the decision, on a small synthetic fit -----------------------------------------------------------------

def _fit(seed: int = 0) -> dict:
    return place.fit_parameters("model-a", "float32", "attack_text", seed, None)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A saved state of 300 rows (texts t0..t299, 3 blobs in 5-D) under run id "run-a"."""
    cache = tmp_path_factory.mktemp("synthetic-cache")
    rng = np.random.default_rng(0)
    z = np.vstack([c + 0.2 * rng.standard_normal((100, 5)) for c in (np.zeros(5), np.full(5, 4.0), np.full(5, -4.0))])
    z = z.astype(np.float32)
    texts = [f"t{i}" for i in range(300)]
    reduced = reduce.Reduced(xy=z[:, :2].copy(), z=z, method="umap")
    clustering = cluster.fit(z, min_cluster_size=20)
    path = place.save_state(cache, "run-a", _fit(), embed.text_keys(texts), reduced, clustering, texts)
    runs = pl.DataFrame({"run_id": ["run-a"], "status": ["published"],
                         "parameters": [json.dumps({"placement": {"mode": "full", "base_run": "run-a"}})]})
    return {"cache": cache, "texts": texts, "path": path, "runs": runs, "z": z, "labels": clustering.labels}


def test_prepare_places_when_few_rows_are_new(synthetic):
    texts = synthetic["texts"] + [f"new {i}" for i in range(20)]
    plan = place.prepare(synthetic["cache"], synthetic["runs"], embed.text_keys(texts), _fit(), 0.10)
    assert plan is not None
    assert plan.n_new == plan.n_new_texts == 20 and plan.n_removed == 0
    assert np.array_equal(plan.state_row, np.r_[np.arange(300), np.full(20, -1)])


@pytest.mark.parametrize("case", ["too many new", "too many gone", "seed changed", "share 0", "no history"])
def test_prepare_refits(synthetic, case, caplog):
    texts, fit, share, runs = synthetic["texts"], _fit(), 0.10, synthetic["runs"]
    if case == "too many new":
        texts = texts + [f"new {i}" for i in range(40)]  # 40 of 340 > 10 %
    elif case == "too many gone":
        texts = texts[:260]  # 40 of 300 gone
    elif case == "seed changed":
        fit = _fit(seed=1)
    elif case == "share 0":
        share = 0.0
    else:
        runs = None
    with caplog.at_level(logging.INFO, logger="redteam_risk.place"):
        assert place.prepare(synthetic["cache"], runs, embed.text_keys(texts), fit, share) is None
    assert any("full fit" in r.getMessage() for r in caplog.records)
    if case == "seed changed":
        assert any("seed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "other pickle", "wrong shapes"])
def test_an_unusable_state_is_ignored_never_raised(synthetic, tmp_path, damage, caplog):
    cache = tmp_path / "cache"
    shutil.copytree(synthetic["cache"], cache)
    path = place.state_path(cache, "run-a")
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"garbage")
    elif damage == "other pickle":
        path.write_bytes(pickle.dumps({"format": "something else"}))
    else:
        payload = pickle.loads(path.read_bytes())
        payload["xy"] = payload["xy"][:10]
        path.write_bytes(pickle.dumps(payload))
    with caplog.at_level(logging.INFO, logger="redteam_risk.place"):
        assert place.prepare(cache, synthetic["runs"], embed.text_keys(synthetic["texts"]), _fit(), 0.1) is None
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert bool(warned) == (damage != "missing")


def test_states_are_pruned_to_the_newest(synthetic, tmp_path):
    state = place.load_state(synthetic["cache"], "run-a")
    reduced = reduce.Reduced(xy=state.xy, z=state.z, method="umap")
    clustering = cluster.Clustering(state.raw_labels, state.clusterer)
    for i in range(place.STATE_KEEP + 2):
        assert place.save_state(tmp_path, f"run-{i}", _fit(), state.keys, reduced, clustering, synthetic["texts"])
    kept = sorted(p.name for p in (tmp_path / "placement").iterdir())
    assert len(kept) == place.STATE_KEEP
    assert f"run-{place.STATE_KEEP + 1}.pkl" in kept and "run-0.pkl" not in kept


def test_no_state_for_inputs_too_small_to_fit(tmp_path):
    z = np.zeros((10, 5), dtype=np.float32)
    reduced = reduce.Reduced(xy=z[:, :2], z=z, method="pca")
    texts = list("abcdefghij")
    assert place.save_state(tmp_path, "tiny", _fit(), embed.text_keys(texts), reduced, cluster.fit(z), texts) is None


def test_match_rows_pairs_repeated_texts_in_order():
    state = embed.text_keys(["a", "b", "a", "c"])
    current = embed.text_keys(["a", "a", "a", "d", "b", "c"])
    assert place.match_rows(state, current).tolist() == [0, 2, 0, -1, 1, 3]


def test_base_run_follows_incremental_and_republished_runs():
    def runs(*placements, status="published"):
        return pl.DataFrame({
            "run_id": [f"r{i}" for i in range(len(placements))],
            "started_at": [f"2024-01-0{i + 1}" for i in range(len(placements))],
            "status": [status] * len(placements),
            "parameters": [json.dumps({} if p is None else {"placement": p}) for p in placements],
        })

    full = {"mode": "full", "base_run": "r0"}
    assert place.base_run(runs(full)) == "r0"
    assert place.base_run(runs(full, {"mode": "incremental", "base_run": "r0", "placed": 5})) == "r0"
    assert place.base_run(runs(full, {"mode": "full", "base_run": "r1"})) == "r1"
    assert place.base_run(runs(full, None)) == "r0"  # a run that recorded no placement is skipped
    assert place.base_run(runs(None)) is None
    assert place.base_run(runs(full, status="failed")) is None
    assert place.base_run(runs({"mode": "full", "base_run": "../../etc/x"})) is None
    assert place.base_run(None) is None


def test_predict_puts_points_in_the_fitted_clusters(synthetic):
    state = place.load_state(synthetic["cache"], "run-a")
    centres = np.array([synthetic["z"][synthetic["labels"] == k].mean(axis=0) for k in range(3)])
    far = np.full((1, 5), 50.0, dtype=np.float32)
    assert cluster.predict(state.clusterer, np.vstack([centres, far])).tolist() == [0, 1, 2, -1]


def test_knn_query_is_exact():
    rng = np.random.default_rng(1)
    data = rng.standard_normal((200, 16)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = data[:30] + 0.01  # near, but not equal to, rows of data
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    indices, dists = reduce.knn_query(queries, data, 7)
    expected = np.argsort(-(queries @ data.T), axis=1, kind="stable")[:, :7]
    assert np.array_equal(indices, expected)
    assert indices[:, 0].tolist() == list(range(30))
    np.testing.assert_allclose(dists, 1 - np.take_along_axis(queries @ data.T, expected, axis=1), atol=1e-5)


def test_knn_query_gives_the_same_bits_with_any_number_of_blas_threads():
    """Placement runs with the machine's BLAS threads on the local engine and in single-CPU Ray tasks: the
    neighbours and distances must be bit-for-bit equal (OpenBLAS's sgemm is not, on some CPUs), else the two
    engines' UMAP transforms diverge. The limit is restored afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits

    rng = np.random.default_rng(2)
    data = rng.standard_normal((3000, 384)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = rng.standard_normal((2500, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    indices, dists = reduce.knn_query(queries, data, 15, block=512)
    assert [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"] == before
    for threads in (1, 3):
        with threadpool_limits(limits=threads, user_api="blas"):
            other_indices, other_dists = reduce.knn_query(queries, data, 15, block=512)
        assert np.array_equal(other_indices, indices) and np.array_equal(other_dists, dists), threads


def test_umap_transform_is_umaps_own_transform():
    """Given the neighbours UMAP.transform would find, place.umap_transform returns exactly its output."""
    import umap
    from sklearn.metrics import pairwise_distances

    rng = np.random.default_rng(0)
    x = np.vstack([c + 0.3 * rng.standard_normal((60, 64)) for c in rng.standard_normal((3, 64))]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    train, new = x[::2].copy(), x[1::2][:40].copy()
    for dims, min_dist in ((2, reduce.MAP_MIN_DIST), (5, reduce.CLUSTER_MIN_DIST)):
        model = umap.UMAP(n_neighbors=15, n_components=dims, min_dist=min_dist, metric="cosine", random_state=3,
                          n_jobs=1, init="pca")
        fitted = model.fit_transform(train)
        expected = model.transform(new)
        d = pairwise_distances(new, train, metric=model._input_distance_func)
        indices = np.argsort(d, axis=1, kind="stable")[:, :15].astype(np.int32)
        dists = np.take_along_axis(d, indices, axis=1).astype(np.float32)
        np.testing.assert_array_equal(place.umap_transform(indices, dists, fitted, min_dist, 15), expected)


def test_cli_passes_the_recluster_share(monkeypatch, tmp_path):
    from etl import cli, pipeline

    seen = {}

    def fake_run(config):
        seen["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr(pipeline, "run", fake_run)
    data = tmp_path / "in.csv"
    data.write_text("attack_text\nhello\n", encoding="utf-8")
    runner = CliRunner()
    runner.invoke(cli.app, ["etl", str(data), "--db", str(tmp_path / "x.duckdb"), "--recluster-share", "0.25"])
    assert seen["config"].recluster_share == 0.25
    runner.invoke(cli.app, ["etl", str(data), "--db", str(tmp_path / "x.duckdb")])
    assert seen["config"].recluster_share == place.DEFAULT_RECLUSTER_SHARE == EtlConfig((), Path()).recluster_share
    assert runner.invoke(cli.app, ["etl", str(data), "--db", "x", "--recluster-share", "1.5"]).exit_code != 0


# --- quality with the real model ----------------------------------------------------------------------------

@pytest.mark.slow
def test_new_rows_of_a_subtopic_land_in_its_cluster(tmp_path):
    """Real model, demo 1,500 + 100 rows: most new rows land in the cluster holding most of the old rows of
    their true subtopic (a full refit gets about the same share)."""
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    write_demo(old, rows=1500, seed=0)
    write_demo(new, rows=100, seed=1)
    db, cache = tmp_path / "risk.duckdb", tmp_path / "cache"
    run(_config([old], db, cache))
    run(_config([old, new], db, cache))
    assert _runs(db)[-1]["placement"]["mode"] == "incremental"
    attacks = _attacks(db).with_columns(is_new=pl.col("source_file").str.ends_with("new.json"))
    truth = pl.concat([pl.read_parquet(f"{path}.truth.parquet").with_columns(is_new=pl.lit(is_new))
                       for path, is_new in ((old, False), (new, True))])
    attacks = attacks.join(truth, on=["source_row", "is_new"])
    home = (
        attacks.filter(~pl.col("is_new") & (pl.col("cluster_id") >= 0))
        .group_by("subtopic", "cluster_id").len()
        .sort(["subtopic", "len", "cluster_id"], descending=[False, True, False])
        .group_by("subtopic", maintain_order=True).first()
        .select("subtopic", pl.col("cluster_id").alias("home"))
    )
    placed = attacks.filter(pl.col("is_new")).join(home, on="subtopic")
    assert placed.height >= 80
    assert (placed["cluster_id"] == placed["home"]).mean() >= 0.6


# --- consensus clusterings (small inputs) have no HDBSCAN model -----------------------------------------------

def test_neighbour_labels_take_the_majority_of_the_nearest_fitted_rows():
    votes = np.array([[1, 1, 2, -1, 2],    # 1 and 2 tie: the nearer one wins
                      [-1, 3, -1, 3, -1],  # most neighbours are unclustered
                      [0, 2, 2, 2, 0]])
    labels, strength = place.neighbour_labels(votes)
    assert labels.tolist() == [1, -1, 2]
    np.testing.assert_allclose(strength, [0.4, 0.0, 0.6])


def test_a_consensus_fit_saves_a_state_that_places_new_rows_by_their_neighbours(tmp_path):
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((3, 64))
    x = np.vstack([c + 0.3 * rng.standard_normal((70, 64)) for c in centres]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    truth = np.repeat([0, 1, 2], 70)
    new = np.arange(0, 210, 7)  # every 7th row is new in the second run
    old = np.setdiff1d(np.arange(210), new)
    texts = [f"t{i}" for i in range(210)]
    keys = embed.text_keys(texts)
    reduced = reduce.reduce(x[old], seed=0, consensus_fits=4)
    clustering = cluster.fit(reduced.z, z_extra=reduced.z_extra)
    assert clustering.model is None and clustering.settings["consensus"]["fits"] == 4
    assert int(clustering.labels.max()) + 1 == 3
    path = place.save_state(tmp_path, "run-c", _fit(), keys[old], reduced, clustering, [texts[i] for i in old])
    assert path is not None
    state = place.load_state(tmp_path, "run-c")
    assert state is not None and state.clusterer is None
    runs = pl.DataFrame({"run_id": ["run-c"], "status": ["published"],
                         "parameters": [json.dumps({"placement": {"mode": "full", "base_run": "run-c"}})]})
    plan = place.prepare(tmp_path, runs, keys, _fit(), 0.2)
    assert plan is not None and plan.n_new == len(new)
    placed = place.place(plan, x, keys)
    assert placed is not None
    np.testing.assert_array_equal(placed.raw_labels[old], clustering.labels)
    # each new row joins the cluster holding the fitted rows of its own group
    group_cluster = {g: np.bincount(clustering.labels[truth[old] == g]).argmax() for g in range(3)}
    assert placed.raw_labels[new].tolist() == [group_cluster[g] for g in truth[new]]
    assert ((placed.strength[new] > 0.5) & (placed.strength[new] <= 1)).all()
