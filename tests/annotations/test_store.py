"""The annotations store (annotations/store.py): current state + history in one transaction, undo, validation,
migrations, concurrent writers, hostile text, and a broken file left untouched."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import date, datetime, timezone

import pytest

from annotations import store as store_module
from annotations.store import (
    SCHEMA_VERSION,
    AnnotationError,
    AnnotationStore,
    migrate,
    store_path_for,
)
from etl.errors import UserError
from tests.annotations.conftest import raw

HOSTILE = [
    "'; drop table changes; --",
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR",
    "<script>alert(1)</script> **bold** [link](javascript:alert(1)) | pipe |",
    "x" * 100_000,
    "nul\x00byte and ünïcødé 🚀 \u202e rtl",
]


def _ids(db, n, theme=None):
    where = "where theme = ?" if theme else ""
    return [r[0] for r in raw(db, f"select attack_id from attacks {where} order by attack_id limit {n}",
                              [theme] if theme else [])]


def test_the_store_lives_beside_the_database_in_wal_mode(db):
    store = AnnotationStore.for_database(db)
    assert store.path == store_path_for(db) == db.with_name("risk.duckdb.annotations.sqlite")
    con = sqlite3.connect(store.path)
    assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert con.execute("select max(version) from schema_version").fetchone()[0] == SCHEMA_VERSION
    con.close()
    assert store.version() == 0


def test_every_write_is_current_state_plus_history(db):
    store = AnnotationStore.for_database(db)
    ids = _ids(db, 3)
    before = store.version()
    changes = store.set_attack_theme(ids, "privacy_pii", user="ana")
    assert len(changes) == 3 and store.version() > before
    assert store.attack_corrections().filter(store.attack_corrections()["theme"] == "privacy_pii").height == 3
    history = store.history(entity_kind="attack")
    assert sorted(history["change_id"].to_list()) == sorted(changes)
    row = history.filter(history["entity_id"] == ids[0]).row(0, named=True)
    assert (row["user"], row["field"], row["old_value"], row["new_value"], row["source"]) == (
        "ana", "theme", None, "privacy_pii", "edit")
    assert abs((datetime.now(timezone.utc).replace(tzinfo=None) - row["at"]).total_seconds()) < 600
    # the same value again changes nothing and records nothing
    version = store.version()
    assert store.set_attack_theme(ids, "privacy_pii", user="ana") == []
    assert store.history().height == 3 and store.version() == version
    # clearing: the correction goes, the history keeps both steps
    store.set_attack_theme(ids[:1], None, user="bo")
    assert ids[0] not in store.attack_corrections()["attack_id"].to_list()
    assert store.history(entity_id=ids[0])["new_value"].to_list() == [None, "privacy_pii"]
    assert store.history(user="bo").height == 1 and store.history(field="success").height == 0


def test_attack_success_exclusion_and_note(db):
    store = AnnotationStore.for_database(db)
    a, b = _ids(db, 2)
    store.set_attack_success([a], False, user="u")
    store.set_attack_exclusion([b], "duplicate", user="u")
    store.set_attack_note(a, "seen before", user="u")
    got = {r["attack_id"]: r for r in store.attack_corrections().iter_rows(named=True)}
    assert got[a]["success"] is False and got[a]["note"] == "seen before" and got[b]["exclusion"] == "duplicate"
    assert store.history(entity_id=a, field="success")["new_value"].to_list() == ["false"]


def test_cluster_corrections_record_their_membership(db):
    store = AnnotationStore.for_database(db)
    store.rename_cluster(0, "Fake cures", user="u")
    store.set_cluster_theme(2, "privacy_pii", user="u")
    store.merge_cluster(1, 0, user="u")
    store.mark_cluster_reviewed(3, True, user="u")
    got = {r["cluster_id"]: r for r in store.cluster_corrections().iter_rows(named=True)}
    assert got[0]["label"] == "Fake cures" and got[2]["theme"] == "privacy_pii" and got[1]["merged_into"] == 0
    assert got[3]["reviewed"] is True
    snapshots = store.cluster_snapshots()
    for cluster_id in (0, 1, 2, 3):
        members = sorted(r[0] for r in raw(db, "select attack_id from attacks where cluster_id = ?", [cluster_id]))
        assert snapshots[cluster_id][0] == members
        assert snapshots[cluster_id][1] == "20220402T000000-bbbbbb"  # the fit: the build's own run id


@pytest.mark.parametrize("call, message", [
    (lambda s: s.rename_cluster(0, "  ", user="u"), "cannot be empty"),
    (lambda s: s.rename_cluster(999, "x", user="u"), "no cluster 999"),
    (lambda s: s.rename_cluster(-1, "x", user="u"), "unclustered"),
    (lambda s: s.set_cluster_theme(0, "no_such_theme", user="u"), "no theme"),
    (lambda s: s.merge_cluster(0, 0, user="u"), "itself"),
    (lambda s: s.set_attack_theme(["nope"], "privacy_pii", user="u"), "not in the database"),
    (lambda s: s.set_attack_theme([], "privacy_pii", user="u"), "No attack"),
    (lambda s: s.set_attack_success(["a00001"], "yes", user="u"), "true, false or none"),
    (lambda s: s.set_attack_exclusion(["a00001"], "boring", user="u"), "not_an_attack"),
    (lambda s: s.set_mitigation("theme", "privacy_pii", status="done", user="u"), "in_progress"),
    (lambda s: s.set_mitigation("theme", "privacy_pii", due_date="31/12/2026", user="u"), "2026-12-31"),
    (lambda s: s.set_mitigation("model", "x", user="u"), "theme or a cluster"),
    (lambda s: s.set_attack_note("a00001", "x", user=" "), "user name"),
    (lambda s: s.undo(12345, user="u"), "no change 12345"),
])
def test_invalid_values_are_refused_with_a_sentence_and_change_nothing(db, call, message):
    store = AnnotationStore.for_database(db)
    with pytest.raises(AnnotationError, match=message) as info:
        call(store)
    assert isinstance(info.value, UserError)
    assert store.history().height == 0 and store.version() == 0


def test_a_merge_circle_is_refused(db):
    store = AnnotationStore.for_database(db)
    store.merge_cluster(1, 0, user="u")
    store.merge_cluster(0, 2, user="u")
    with pytest.raises(AnnotationError, match="circle"):
        store.merge_cluster(2, 1, user="u")


def test_mitigation_fields_change_one_by_one(db):
    store = AnnotationStore.for_database(db)
    first = store.set_mitigation("theme", "misinformation_conspiracy", owner="X", user="a")
    assert len(first) == 2  # a new area starts "open" (recorded) and gets its owner
    store.set_mitigation("theme", "misinformation_conspiracy", status="in_progress", due_date=date(2026, 12, 31),
                         link="https://tracker.example/T-1", user="b")
    store.set_mitigation("cluster", 4, note="split it", user="b")
    rows = {(r["kind"], r["key"]): r for r in store.mitigations().iter_rows(named=True)}
    m = rows[("theme", "misinformation_conspiracy")]
    assert (m["status"], m["owner"], m["due_date"], m["link"], m["updated_by"]) == (
        "in_progress", "X", "2026-12-31", "https://tracker.example/T-1", "b")
    assert rows[("cluster", "4")]["note"] == "split it"
    store.set_mitigation("theme", "misinformation_conspiracy", owner="", user="c")  # "" clears
    assert store.mitigations().filter(store.mitigations()["kind"] == "theme")["owner"][0] is None
    fields = store.history(entity_kind="mitigation", entity_id="theme:misinformation_conspiracy")["field"].to_list()
    assert sorted(fields) == ["due_date", "link", "owner", "owner", "status", "status"]


def test_undo_restores_the_old_value_as_a_new_change(db):
    store = AnnotationStore.for_database(db)
    (a,) = _ids(db, 1)
    first = store.set_attack_theme([a], "privacy_pii", user="u")[0]
    second = store.set_attack_theme([a], "violence_incitement", user="u")[0]
    with pytest.raises(AnnotationError, match="changed since"):
        store.undo(first, user="v")  # a later change would be lost
    undo = store.undo(second, user="v")
    assert store.attack_corrections()["theme"].to_list() == ["privacy_pii"]
    history = {r["change_id"]: r for r in store.history().iter_rows(named=True)}
    assert history[second]["undone_by"] == undo
    assert (history[undo]["old_value"], history[undo]["new_value"], history[undo]["user"]) == (
        "violence_incitement", "privacy_pii", "v")
    assert history[undo]["source"] == f"undo of change {second}"
    with pytest.raises(AnnotationError, match="already undone"):
        store.undo(second, user="v")
    store.undo(first, user="v")  # now the first can go: back to no correction
    assert store.attack_corrections().height == 0
    # a mitigation's creation undone removes it; a merge undone un-merges
    (status, _owner) = store.set_mitigation("cluster", 2, owner="o", user="u")
    store.undo(_owner, user="u")
    store.undo(status, user="u")
    assert store.mitigations().height == 0
    merge = store.merge_cluster(1, 0, user="u")
    store.undo(merge, user="u")
    assert store.cluster_corrections().height == 0


def test_hostile_text_is_stored_verbatim_in_every_field(db):
    store = AnnotationStore.for_database(db)
    (a,) = _ids(db, 1)
    for i, text in enumerate(HOSTILE):
        store.set_attack_note(a, text, user=text)
        assert store.attack_corrections()["note"].to_list() == [text]
        store.rename_cluster(0, text, user="u")
        assert store.cluster_corrections()["label"].to_list() == [text]
        store.set_mitigation("cluster", 0, owner=text, note=text, link=f"https://t.example/{text}", user="u")
        m = store.mitigations().row(0, named=True)
        assert m["owner"] == m["note"] == text and m["link"] == f"https://t.example/{text}"
        assert store.history(user=text, limit=1)["new_value"].to_list() == [text]
    assert raw(db, "select count(*) from attacks")[0][0] > 400  # nothing was executed anywhere


def test_a_version_1_store_is_migrated_without_losing_rows(db):
    path = store_path_for(db)
    con = store_module.connect(path)
    assert migrate(con, upto=1) == 0 or True
    assert con.execute("select max(version) from schema_version").fetchone()[0] == 1
    con.execute("insert into attack_corrections (attack_id, theme) values ('a00001', 'privacy_pii')")
    con.execute("insert into cluster_corrections (cluster_id, label) values (2, 'old label')")
    con.execute("insert into mitigations values ('theme', 'privacy_pii', 'open', 'me', null, null, null, 't', 'me')")
    con.execute("insert into changes (at, user, entity_kind, entity_id, field, old_value, new_value) values "
                "('2026-01-01T00:00:00.000000', 'me', 'attack', 'a00001', 'theme', null, 'privacy_pii')")
    con.close()
    store = AnnotationStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.attack_corrections()["theme"].to_list() == ["privacy_pii"]
    assert store.cluster_corrections()["label"].to_list() == ["old label"]
    assert store.mitigations()["owner"].to_list() == ["me"]
    old = store.history().row(0, named=True)
    assert (old["new_value"], old["source"]) == ("privacy_pii", "edit")
    assert store.unplaced().height == 0
    store.rename_cluster(2, "new label", user="u")  # and the migrated file takes new writes
    assert store.history(entity_kind="cluster")["old_value"].to_list() == ["old label"]


def test_a_store_from_a_newer_release_is_refused(db):
    store = AnnotationStore.for_database(db)
    con = sqlite3.connect(store.path)
    con.execute("insert into schema_version values (?, 'later')", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(AnnotationError, match="newer redteam-risk"):
        AnnotationStore.for_database(db)


def test_a_file_that_is_not_a_store_is_left_untouched(db):
    path = store_path_for(db)
    junk = b"this is not sqlite" * 100
    path.write_bytes(junk)
    with pytest.raises(AnnotationError, match="left untouched"):
        AnnotationStore.for_database(db)
    assert path.read_bytes() == junk


def _writer(args):
    db, user, ids = args
    store = AnnotationStore.for_database(db)
    done = 0
    for i, attack_id in enumerate(ids):  # 200 writes: 100 attack corrections, 100 mitigation notes
        if i % 2:
            store.set_mitigation("theme", "privacy_pii", note=f"{user} {i}", user=user)
        else:
            store.set_attack_theme([attack_id], "privacy_pii" if i % 4 else "violence_incitement", user=user)
        done += 1
    return done


def test_concurrent_writers_lose_nothing(db):
    AnnotationStore.for_database(db)  # created once; the writers only open it
    ids = _ids(db, 400)
    jobs = [(db, "editor-1", ids[:200]), (db, "editor-2", ids[200:])]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map(_writer, jobs) == [200, 200]
    store = AnnotationStore.for_database(db)
    corrections = store.attack_corrections()
    assert sorted(corrections["attack_id"].to_list()) == sorted(ids[0:200:2] + ids[200:400:2])
    history = store.history(limit=10_000)
    assert history.filter(history["entity_kind"] == "attack").height == 200
    for user in ("editor-1", "editor-2"):
        mine = history.filter((history["user"] == user) & (history["field"] == "note"))
        assert sorted(mine["new_value"].to_list()) == sorted(f"{user} {i}" for i in range(1, 200, 2))
    assert history["change_id"].n_unique() == history.height
    # the history chains: each mitigation note change's old value is the previous note, in change order
    notes = history.filter(history["field"] == "note").sort("change_id")
    assert notes["old_value"].to_list()[1:] == notes["new_value"].to_list()[:-1]


def test_a_mitigation_link_must_be_a_web_address(db):
    store = AnnotationStore.for_database(db)
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<script>x</script>", "tracker/T-1",
                " https://x.example", "https:// x"):
        with pytest.raises(AnnotationError, match="http"):
            store.set_mitigation("theme", "misinformation_conspiracy", link=bad, user="u")
    assert store.mitigations().height == 0  # nothing half-written
    store.set_mitigation("theme", "misinformation_conspiracy", link="HTTPS://tracker.example/T-1", user="u")
    assert store.mitigations()["link"].to_list() == ["HTTPS://tracker.example/T-1"]
