"""Carry-over at rebuild (annotations/carry.py): attack corrections by attack id, cluster corrections by id on the
same fit and by the cluster holding most of their attacks after a refit, the rest listed as unplaced; the
`redteam-risk etl` command runs it and never fails because of the store.

The rebuild tests run the real pipeline with the hashed-word stand-in for the embedding model (as
tests/etl/test_place.py does), so UMAP, HDBSCAN, placement and publishing are the real ones."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from annotations.carry import carry_over
from annotations.store import AnnotationStore, store_path_for
from etl import embed
from etl.cli import app
from etl.demo import write_demo
from sql.database import Queries, open_read_only
from sql.filters import Filters
from tests.annotations.conftest import raw
from tests.etl.test_place import HashEmbedder
from tests.fixture_db import clusters_frame, make_tables, write_db

ROWS = 300


# --- a rebuild with the clusters refitted, made deterministic from the fixture factory ---------------------------


def _rebuild(db: Path, mapping: dict[int, int], run_id: str = "20260101T000000-cccccc") -> None:
    """Publish a new build at ``db``: the fixture's attacks with cluster ids mapped by ``mapping`` (a refit that
    renumbered them) and one more run whose fit is its own."""
    tables = make_tables()
    attacks = tables["attacks"].with_columns(
        pl.col("cluster_id").replace_strict(mapping, default=pl.col("cluster_id")).alias("cluster_id"))
    clusters = clusters_frame(attacks)
    runs = tables["runs"]
    new_run = runs.tail(1).with_columns(
        pl.lit(run_id).alias("run_id"), pl.col("started_at").dt.offset_by("1y"),
        pl.lit(json.dumps({"placement": {"mode": "full", "base_run": run_id}})).alias("parameters"))
    write_db(db, {**tables, "attacks": attacks, "clusters": clusters, "runs": pl.concat([runs, new_run])})


def test_same_fit_keeps_ids_and_lists_gone_attacks(db):
    store = AnnotationStore.for_database(db)
    store.rename_cluster(3, "kept label", user="u")
    store.set_attack_theme(["a00001"], "privacy_pii", user="u")
    con = store_module_connect(store)
    con.execute("insert into attack_corrections (attack_id, note) values ('gone-attack', 'from another build')")
    con.close()
    result = carry_over(db)
    assert not result.refitted and result.clusters_kept == 1 and result.attacks_kept == 1
    assert result.attacks_unplaced == 1
    unplaced = store.unplaced()
    assert unplaced["entity_id"].to_list() == ["gone-attack"] and "not in run" in unplaced["reason"][0]
    assert "gone-attack" in store.attack_corrections()["attack_id"].to_list()  # kept, never dropped
    assert store.cluster_corrections()["cluster_id"].to_list() == [3]
    assert "same clusters" in result.summary() and "1 unplaced" in result.summary()
    again = carry_over(db)  # idempotent: the unplaced list is the last rebuild's
    assert again.attacks_unplaced == 1 and store.unplaced().height == 1


def store_module_connect(store):
    from annotations.store import connect

    return connect(store.path)


def test_refit_rekeys_by_the_majority_of_the_snapshot(db):
    store = AnnotationStore.for_database(db)
    store.rename_cluster(0, "Fake cures", user="u")
    store.set_cluster_theme(2, "privacy_pii", user="u")
    store.merge_cluster(5, 4, user="u")
    store.set_mitigation("cluster", 0, status="in_progress", owner="Team", user="u")
    store.mark_cluster_reviewed(7, True, user="u")
    # the refit renumbers 0 <-> 6, 2 -> 3, 3 -> 2; 4, 5 keep their ids; 7's attacks all become unclustered
    _rebuild(db, {0: 6, 6: 0, 2: 3, 3: 2, 7: -1})
    result = carry_over(db)
    assert result.refitted
    assert result.clusters_moved == {0: 6, 2: 3}
    got = {r["cluster_id"]: r for r in store.cluster_corrections().iter_rows(named=True)}
    assert got[6]["label"] == "Fake cures" and got[3]["theme"] == "privacy_pii" and got[5]["merged_into"] == 4
    assert 7 not in got and 0 not in got
    assert store.mitigations().select("kind", "key", "status").rows() == [("cluster", "6", "in_progress")]
    moves = store.history(field="cluster_id")
    assert sorted(zip(moves["old_value"], moves["new_value"])) == [("0", "6"), ("2", "3")]
    assert all(s.startswith("etl carry-over run 20260101T000000-cccccc") for s in moves["source"].to_list())
    unplaced = store.unplaced()
    assert unplaced.select("entity_id", "field", "value").rows() == [("7", "reviewed", "true")]
    assert "none of the" in unplaced["reason"][0]
    # the overlay applies the re-keyed corrections to the right attacks
    q = Queries(open_read_only(db))
    labels = {r["cluster_id"]: r["cluster_label"] for r in q.priority_areas(Filters(), kind="cluster").iter_rows(
        named=True)}
    assert labels[6] == "Fake cures"
    old_zero = [r[0] for r in raw(db, "select attack_id from attacks where cluster_id = 6")]
    assert set(q.in_scope(Filters(cluster_ids=("6",)), "attack_id")["attack_id"].to_list()) == set(old_zero)
    # snapshots now describe the new build, so the next refit starts from it
    assert store.cluster_snapshots()[6][1] == "20260101T000000-cccccc"


def test_before_the_carry_over_a_refit_hides_stale_cluster_corrections(db):
    store = AnnotationStore.for_database(db)
    store.rename_cluster(0, "Fake cures", user="u")
    _rebuild(db, {0: 6, 6: 0})
    q = Queries(open_read_only(db))  # no carry-over yet: cluster 0 now names other attacks
    labels = {r["cluster_id"]: r["cluster_label"] for r in q.priority_areas(Filters(), kind="cluster").iter_rows(
        named=True)}
    assert "Fake cures" not in labels.values()


def test_contested_clusters_keep_the_strongest_and_list_the_other(db):
    store = AnnotationStore.for_database(db)
    store.rename_cluster(0, "zero", user="u")
    store.rename_cluster(1, "one", user="u")
    _rebuild(db, {1: 0})  # the refit joined 0 and 1
    result = carry_over(db)
    assert store.cluster_corrections().select("cluster_id", "label").rows() in ([(0, "zero")], [(0, "one")])
    unplaced = store.unplaced()
    assert unplaced.height == 1 and "already took this label" in unplaced["reason"][0]
    assert result.clusters_unplaced == 1


# --- `redteam-risk etl` on a real small build -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("carry")
    source = folder / "attacks.json"
    write_demo(source, rows=ROWS, seed=0)
    return folder, source


def _etl(args: list[str]):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(embed, "Embedder", HashEmbedder)
        return CliRunner().invoke(app, ["etl", *args, "--no-progress"], catch_exceptions=False)


def _membership(db: Path) -> dict[str, int]:
    return dict(raw(db, "select attack_id, cluster_id from attacks"))


def test_etl_carries_corrections_over_rebuilds(demo, tmp_path):
    folder, source = demo
    data = tmp_path / "attacks.json"
    shutil.copyfile(source, data)
    db, cache = tmp_path / "risk.duckdb", tmp_path / "cache"
    first = _etl([str(data), "--db", str(db), "--cache-dir", str(cache)])
    assert first.exit_code == 0, first.output
    assert "annotations" not in first.output  # no store yet: nothing to say
    sizes = Counter(c for c in _membership(db).values() if c >= 0)
    (big, _), (second_big, _) = sizes.most_common(2)
    attacks = raw(db, "select attack_id, source_row from attacks order by source_row")
    store = AnnotationStore.for_database(db)
    store.rename_cluster(big, "Analyst label", user="ana")
    store.merge_cluster(second_big, big, user="ana")
    store.set_attack_success([attacks[0][0]], False, user="ana")
    store.set_attack_theme([attacks[-1][0]], "other", user="ana")  # the record dropped below
    store.set_mitigation("theme", "other", status="mitigated", user="ana")
    before = _membership(db)

    # 1. the last record is gone from the input: an incremental build on the same fit
    records = json.loads(data.read_text())
    data.write_text(json.dumps(records[:-1]))
    second = _etl([str(data), "--db", str(db), "--cache-dir", str(cache)])
    assert second.exit_code == 0, second.output
    assert "annotations carried over to run" in second.output and "(same clusters)" in second.output
    assert "1 unplaced" in second.output
    got = {r["cluster_id"]: r for r in store.cluster_corrections().iter_rows(named=True)}
    assert got[big]["label"] == "Analyst label" and got[second_big]["merged_into"] == big
    assert store.unplaced()["entity_id"].to_list() == [attacks[-1][0]]
    q = Queries(open_read_only(db))
    assert q.in_scope(Filters(), "success", "where attack_id = $a", {"a": attacks[0][0]})["success"][0] is False
    assert q.mitigations()["status"].to_list() == ["mitigated"]

    # 2. another seed: a full refit; every correction follows the attacks it was made on
    third = _etl([str(data), "--db", str(db), "--cache-dir", str(cache), "--seed", "7"])
    assert third.exit_code == 0, third.output
    assert "(clusters refitted)" in third.output
    after = _membership(db)
    expected = {}
    for old in (big, second_big):
        votes = Counter(after[a] for a, c in before.items() if c == old and a in after and after[a] >= 0)
        expected[old] = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    got = {r["cluster_id"]: r for r in store.cluster_corrections().iter_rows(named=True)}
    if expected[big] != expected[second_big]:
        assert got[expected[big]]["label"] == "Analyst label"
        assert got[expected[second_big]]["merged_into"] == expected[big]
    else:  # the refit put both in one cluster: the merge is done, and listed as nothing left to merge
        assert got[expected[big]]["label"] == "Analyst label"
        assert "nothing left to merge" in " ".join(store.unplaced()["reason"].to_list())
    q = Queries(open_read_only(db))
    assert q.in_scope(Filters(), "success", "where attack_id = $a", {"a": attacks[0][0]})["success"][0] is False
    labels = {r["cluster_id"]: r["cluster_label"] for r in q.priority_areas(Filters(), kind="cluster").iter_rows(
        named=True)}
    assert labels[expected[big]] == "Analyst label"

    # 3. a broken store: the ETL still publishes, warns, and leaves the file as it was
    path = store_path_for(db)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(b"garbage" * 50)
    fourth = _etl([str(data), "--db", str(db), "--cache-dir", str(cache), "--seed", "7"])
    assert fourth.exit_code == 0, fourth.output
    assert "were not carried over" in fourth.output and path.read_bytes() == b"garbage" * 50
