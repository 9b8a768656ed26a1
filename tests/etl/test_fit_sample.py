"""Fit on a sample, place the rest (``--fit-sample``, etl/place.py): the stratified sample, a build that fits
UMAP and HDBSCAN on it and places every other row, and an incremental run on top of such a build.

Like test_place.py, the pipeline runs swap the sentence-transformers model for hashed word counts, so the real
UMAP, HDBSCAN, placement and publish run in seconds.
"""

from __future__ import annotations


import duckdb
import numpy as np
import polars as pl
import pytest

from polars.testing import assert_frame_equal

from etl import embed, place, settings
from etl.demo import write_demo
from etl.pipeline import EtlConfig, run
from tests.etl.test_place import HashEmbedder, _config, _runs

ROWS, SAMPLE, NEW_ROWS = 1500, 400, 60


def _published(db) -> tuple[pl.DataFrame, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        attacks = con.sql("select attack_id, source_file, source_row, model, campaign, embed_text, cluster_id, "
                          "cluster_strength, theme, x, y from attacks order by source_file, source_row").pl()
        clusters = con.sql("select * from clusters order by cluster_id").pl()
    finally:
        con.close()
    return attacks, clusters


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    """A demo build of ROWS attacks fitted on SAMPLE of them (twice, same seed, separate caches), and the first
    build again after an incremental run with NEW_ROWS more attacks."""
    folder = tmp_path_factory.mktemp("fit-sample")
    data, extra = folder / "demo.json", folder / "extra.json"
    write_demo(data, rows=ROWS, seed=0)
    write_demo(extra, rows=NEW_ROWS, seed=3)
    out = {"folder": folder}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(embed, "Embedder", HashEmbedder)
        for name in ("a", "b"):
            db = folder / f"{name}.duckdb"
            out[name] = run(_config([data], db, folder / f"cache-{name}", fit_sample=SAMPLE, reuse=False))
            out[f"{name}_db"] = db
            out[f"{name}_published"] = _published(db)
        # The same build with the vectors read back from disk in chunks of 64 rows (placement, labels, themes and
        # the attack_embeddings write) and the build's frames inserted 100 rows at a time, on the first build's cache.
        mp.setattr(settings, "VECTOR_CHUNK_ROWS", 64)
        mp.setattr(settings, "BUILD_INSERT_ROWS", 100)
        out["chunked_db"] = folder / "chunked.duckdb"
        run(_config([data], out["chunked_db"], folder / "cache-a", fit_sample=SAMPLE, reuse=False))
        out["chunked_tables"], out["a_tables"] = _tables(out["chunked_db"]), _tables(out["a_db"])
        mp.undo()
        mp.setattr(embed, "Embedder", HashEmbedder)
        out["incremental"] = run(_config([data, extra], folder / "a.duckdb", folder / "cache-a", fit_sample=SAMPLE))
    return out


def _tables(db) -> dict[str, pl.DataFrame]:
    """Every table of a published database (``runs`` without its run-specific columns), in a stable order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                           "where table_type = 'BASE TABLE' order by 1").fetchall()]
        out = {}
        for name in names:
            if name == "runs":
                continue
            out[name] = con.sql(f'select * from "{name}" order by all').pl()
        return out
    finally:
        con.close()


def test_reading_the_vectors_in_small_chunks_publishes_the_same_tables(sampled):
    chunked, whole = sampled["chunked_tables"], sampled["a_tables"]
    assert sorted(chunked) == sorted(whole)
    for name in whole:
        assert_frame_equal(chunked[name], whole[name], check_exact=True), name
    n = whole["attacks"].height
    assert n == ROWS and whole["attack_embeddings"].height == n  # 24 chunks of 64 vectors, none lost or repeated
    assert whole["attack_embeddings"]["attack_id"].n_unique() == n
    # The vector files of both builds were removed with the build.
    assert not list(sampled["folder"].glob("*.npy")) and not list(sampled["folder"].glob(".*.npy"))


def test_sample_rows_is_stratified_exact_and_deterministic():
    strata = pl.DataFrame({
        "source_file": ["a.json"] * 700 + ["b.json"] * 300,
        "campaign": (["c1"] * 350 + ["c2"] * 350) + [None] * 300,
        "model": ["m1", "m2"] * 500,
    })
    rows = place.sample_rows(strata, 100, seed=7)
    assert len(rows) == 100 and len(np.unique(rows)) == 100 and np.all(np.diff(rows) > 0)
    picked = strata[rows.tolist()]
    counts = picked.group_by(["source_file", "campaign", "model"]).len()
    # six strata of 175, 175, 175, 175, 150, 150 rows: 17.5 / 17.5 / ... / 15 / 15 of 100
    assert sorted(counts["len"].to_list()) == [15, 15, 17, 17, 18, 18]
    assert np.array_equal(rows, place.sample_rows(strata, 100, seed=7))
    assert not np.array_equal(rows, place.sample_rows(strata, 100, seed=8))
    assert np.array_equal(place.sample_rows(strata, 5000, seed=7), np.arange(1000))  # no sample above the size


def test_a_rare_stratum_keeps_its_share():
    strata = pl.DataFrame({"source_file": ["big"] * 990 + ["small"] * 10, "campaign": [None] * 1000,
                           "model": ["m"] * 1000})
    rows = place.sample_rows(strata, 100, seed=0)
    assert int((rows >= 990).sum()) == 1


def test_every_row_is_placed_and_the_tables_are_complete(sampled):
    attacks, clusters = sampled["a_published"]
    assert attacks.height == ROWS
    assert attacks["x"].is_finite().all() and attacks["y"].is_finite().all()
    assert attacks["cluster_id"].null_count() == 0 and attacks["theme"].null_count() == 0
    # every published cluster id has its row in clusters, with the right size
    sizes = attacks.filter(pl.col("cluster_id") >= 0).group_by("cluster_id").len()
    joined = sizes.join(clusters.select("cluster_id", "n_attacks"), on="cluster_id", how="left")
    assert joined["n_attacks"].null_count() == 0 and (joined["len"] == joined["n_attacks"]).all()
    assert clusters.filter(pl.col("cluster_id") >= 0).height >= 3
    # placed rows are clustered about as often as sampled ones (noise attachment applies to both)
    assert (attacks["cluster_id"] >= 0).mean() > 0.8


def test_the_run_records_the_sample(sampled):
    first = _runs(sampled["a_db"])[0]
    assert first["fit_sample"] == SAMPLE
    placement = first["placement"]
    assert placement["mode"] == "sample" and placement["base_run"] == sampled["a"].run_id
    assert placement["fit_rows"] == SAMPLE and placement["placed"] == ROWS - SAMPLE
    assert placement["strata"] == list(place.SAMPLE_STRATA)
    assert 0 < placement["placed_texts"] <= ROWS - SAMPLE
    assert placement["hdbscan"]["min_cluster_size"] >= 5


def test_the_same_seed_gives_the_same_build(sampled):
    a, b = sampled["a_published"][0], sampled["b_published"][0]
    assert a["attack_id"].to_list() == b["attack_id"].to_list()
    np.testing.assert_array_equal(a["x"].to_numpy(), b["x"].to_numpy())
    np.testing.assert_array_equal(a["cluster_id"].to_numpy(), b["cluster_id"].to_numpy())


def test_the_state_holds_every_row_and_marks_the_sample(sampled):
    state = place.load_state(sampled["folder"] / "cache-a", sampled["a"].run_id)
    assert state is not None and len(state.keys) == ROWS
    assert state.reference is not None and int(state.reference.sum()) == SAMPLE
    attacks = sampled["a_published"][0]
    assert np.array_equal(state.keys, embed.text_keys(attacks["embed_text"].to_list()))
    np.testing.assert_array_equal(state.xy[:, 0], attacks["x"].to_numpy().astype(np.float32))
    assert state.fit["fit_sample"] == SAMPLE


def test_an_incremental_run_places_new_rows_on_the_sample_fit(sampled):
    runs = _runs(sampled["a_db"])
    assert len(runs) == 2
    placement = runs[-1]["placement"]
    assert placement["mode"] == "incremental" and placement["base_run"] == sampled["a"].run_id
    assert 0 < placement["placed"] <= NEW_ROWS and placement["removed"] == 0
    before = sampled["a_published"][0]
    after, _ = _published(sampled["a_db"])
    assert after.height == ROWS + NEW_ROWS
    kept = before.join(after, on="attack_id", suffix="_after")
    assert kept.height == ROWS
    assert (kept["x"] == kept["x_after"]).all() and (kept["y"] == kept["y_after"]).all()


def test_fit_sample_above_the_row_count_fits_every_row(tmp_path, monkeypatch):
    data = tmp_path / "demo.json"
    write_demo(data, rows=300, seed=0)
    monkeypatch.setattr(embed, "Embedder", HashEmbedder)
    run(_config([data], tmp_path / "r.duckdb", tmp_path / "cache", fit_sample=1000))
    (first,) = _runs(tmp_path / "r.duckdb")
    assert first["placement"]["mode"] == "full" and first["fit_sample"] == 1000
    state = place.load_state(tmp_path / "cache", first["run_id"])
    assert state is not None and state.reference is None and "fit_sample" not in state.fit


def test_the_cli_takes_fit_sample_and_backend(tmp_path):
    from typer.testing import CliRunner

    from etl.cli import app

    data = tmp_path / "demo.json"
    write_demo(data, rows=60, seed=0)
    result = CliRunner().invoke(app, ["etl", str(data), "--db", str(tmp_path / "r.duckdb"), "--fit-sample", "50"])
    assert result.exit_code != 0 and "--fit-sample must be 0 (fit every row) or at least 100" in str(result.exception)
    result = CliRunner().invoke(app, ["etl", str(data), "--db", str(tmp_path / "r.duckdb"), "--fit-sample", "-1"])
    assert result.exit_code == 2 and "Invalid value for '--fit-sample'" in result.output
    result = CliRunner().invoke(app, ["etl", str(data), "--db", str(tmp_path / "r.duckdb"),
                                      "--embedding-backend", "tpu", "--no-progress"])
    assert result.exit_code != 0 and "Unknown embedding backend 'tpu'" in str(result.exception)
    assert not (tmp_path / "r.duckdb").exists()


def test_a_too_small_sample_is_refused_before_ingest(tmp_path):
    from etl.errors import UserError

    with pytest.raises(UserError, match="--fit-sample must be 0"):
        run(_config([tmp_path / "missing.json"], tmp_path / "r.duckdb", tmp_path / "cache", fit_sample=10))
    assert not (tmp_path / "r.duckdb").exists()


def test_the_default_sample_is_recorded_and_zero_fits_every_row(tmp_path, monkeypatch):
    from etl import settings

    assert settings.DEFAULT_FIT_SAMPLE == EtlConfig(inputs=(), db=tmp_path / "x").fit_sample
    data = tmp_path / "demo.json"
    write_demo(data, rows=300, seed=0)
    monkeypatch.setattr(embed, "Embedder", HashEmbedder)
    run(_config([data], tmp_path / "r.duckdb", tmp_path / "cache", fit_sample=0))
    (first,) = _runs(tmp_path / "r.duckdb")
    assert first["placement"]["mode"] == "full" and first["fit_sample"] == 0
