"""Similar attacks (sql/similar.py through Queries): nearest neighbours of the stored embeddings, checked against a
numpy brute force over the same vectors."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from sql import similar
from sql.database import CATALOG, TABLE_COLUMNS, DatabaseUnavailable, Queries, open_read_only
from tests.fixture_db import build_db, default_attacks, embeddings, write_db


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """The known-cells fixture (with flagged duplicates, whose vectors equal their originals')."""
    return build_db(tmp_path_factory.mktemp("similar") / "similar.duckdb", default_attacks())


@pytest.fixture()
def q(db):
    with closing(open_read_only(db)) as con:
        yield Queries(con)


def brute_force(attacks: pl.DataFrame, query: list[str], k: int) -> pl.DataFrame:
    """The ``k`` best cosine similarities to the mean of ``query``'s unit vectors, over every attack that is
    neither asked about nor a flagged duplicate (float64, no shortcut): attack_id, similarity."""
    vectors = embeddings(attacks)
    matrix = np.stack(vectors["vector"].to_list()).astype(np.float64)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = vectors["attack_id"].to_list()
    rows = [ids.index(a) for a in query]
    centre = matrix[rows].mean(axis=0)
    scores = matrix @ (centre / np.linalg.norm(centre))
    duplicate = dict(zip(attacks["attack_id"], attacks["is_duplicate"]))
    frame = pl.DataFrame({"attack_id": ids, "similarity": scores})
    return (frame.filter(~pl.col("attack_id").is_in(query) & ~pl.col("attack_id").replace_strict(duplicate))
            .sort("similarity", descending=True).head(k))


def assert_matches(got: pl.DataFrame, want: pl.DataFrame, attacks: pl.DataFrame, query: list[str]):
    assert got.height == want.height
    np.testing.assert_allclose(got["similarity"].to_numpy(), want["similarity"].to_numpy(), atol=1e-5)
    # every returned attack really has the similarity reported (so a tie may swap ids, never scores)
    every = brute_force(attacks, query, attacks.height)
    reported = dict(zip(every["attack_id"], every["similarity"]))
    for attack_id, score in got.select("attack_id", "similarity").iter_rows():
        assert reported[attack_id] == pytest.approx(score, abs=1e-5)
    assert got["similarity"].is_sorted(descending=True)


@pytest.mark.parametrize("attack_id", ["a00000", "a00017", "a00300", "a00573", "a00000~1"])
@pytest.mark.parametrize("k", [1, 10])
def test_similar_equals_the_brute_force(q, attack_id, k):
    attacks = default_attacks()
    got = q.similar(attack_id, k)
    assert got.columns == ["attack_id", "similarity", *TABLE_COLUMNS[1:]]
    assert attack_id not in got["attack_id"].to_list()
    assert not any("~" in a for a in got["attack_id"])  # flagged duplicates are never offered
    assert_matches(got, brute_force(attacks, [attack_id], k), attacks, [attack_id])


def test_a_duplicate_finds_its_original_first(q):
    got = q.similar("a00000~1", 3)
    assert got["attack_id"][0] == "a00000" and got["similarity"][0] == pytest.approx(1.0, abs=1e-6)


def test_neighbours_mostly_share_the_cluster(q):
    attacks = default_attacks()
    cluster_of = dict(zip(attacks["attack_id"], attacks["cluster_id"]))
    same = [cluster_of[n] == cluster_of[a] for a in ("a00002", "a00100", "a00204") for n in q.similar(a, 5)["attack_id"]]
    assert sum(same) >= 12


@pytest.mark.parametrize("selection", [["a00000", "a00002", "a00004"], ["a00001", "a00300", "a00501", "a00000~1"]])
def test_similar_to_selection_uses_the_centroid_and_leaves_the_selection_out(q, selection):
    attacks = default_attacks()
    got = q.similar_to_selection(tuple(selection), 8)
    assert not set(got["attack_id"]) & set(selection)
    assert_matches(got, brute_force(attacks, selection, 8), attacks, selection)


def test_unknown_ids_and_k_bounds(q):
    assert q.similar("no such attack", 5).height == 0
    assert q.similar("' or 1=1 --", 5).height == 0
    assert q.similar_to_selection((), 5).height == 0
    assert q.similar_to_selection(("nope", "a00000"), 5)["attack_id"].to_list() == \
        q.similar("a00000", 5)["attack_id"].to_list()  # unknown ids in a selection are skipped
    assert q.similar("a00000", 0).height == 0
    assert q.similar("a00000", 10_000).height == similar.MAX_NEIGHBOURS


def test_vectors_are_loaded_once_per_build_and_a_new_build_is_seen(tmp_path, monkeypatch):
    attacks = default_attacks()
    path = build_db(tmp_path / "risk.duckdb", attacks)
    loads = []
    real = similar._load
    monkeypatch.setattr(similar, "_load", lambda con: loads.append(1) or real(con))
    with closing(open_read_only(path)) as a, closing(open_read_only(path)) as b:
        first = Queries(a).similar("a00000", 5)
        cursor = b.cursor()  # as dashboard.data does: one cursor per thread
        cursor.execute(f"use {CATALOG}")
        assert Queries(cursor).similar("a00000", 5)["attack_id"].to_list() == first["attack_id"].to_list()
        Queries(a).similar_to_selection(("a00001", "a00002"), 5)
    assert len(loads) == 1
    # the same ids with other vectors, written over the same path: a new build, loaded again
    tables = {"attacks": attacks, "attack_embeddings": embeddings(attacks, seed=7)}
    write_db(path, tables)
    with closing(open_read_only(path)) as c:
        again = Queries(c).similar("a00000", 5)
    assert len(loads) == 2
    assert again["attack_id"].to_list() != first["attack_id"].to_list()


def test_a_build_of_an_older_version_asks_for_a_rebuild(tmp_path):
    path = build_db(tmp_path / "old.duckdb", default_attacks())
    with closing(duckdb.connect(str(path))) as con:
        con.execute("drop table attack_embeddings")
        con.execute("drop table attack_search")
    with pytest.raises(DatabaseUnavailable, match="built by an older version.*attack_search, attack_embeddings.*"
                                                  "redteam-risk etl"):
        open_read_only(path)
