"""`redteam-risk annotations export|import` (annotations/transfer.py): exact round trips in JSON and CSV, history
rows for imports, bad rows rejected one by one with their reason, nothing lost."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from typer.testing import CliRunner

from annotations.store import AnnotationStore
from etl.cli import app
from tests.annotations.test_store import HOSTILE

runner = CliRunner()


def _fill(db) -> AnnotationStore:
    store = AnnotationStore.for_database(db)
    store.set_attack_theme(["a00001", "a00002"], "privacy_pii", user="u")
    store.set_attack_success(["a00003"], False, user="u")
    store.set_attack_exclusion(["a00004"], "not_an_attack", user="u")
    for i, text in enumerate(HOSTILE):
        store.set_attack_note(f"a{10 + i:05d}", text, user="u")
    store.rename_cluster(0, HOSTILE[1], user="u")
    store.merge_cluster(1, 0, user="u")
    store.mark_cluster_reviewed(2, True, user="u")
    store.set_cluster_theme(3, "other", user="u")
    store.set_mitigation("theme", "privacy_pii", status="accepted_risk", owner=HOSTILE[0], due_date="2027-01-31",
                         note=HOSTILE[7], link="https://tracker.example/T-1", user="u")
    store.set_mitigation("cluster", 0, note="-1 only", user="u")
    return store


def _state(store: AnnotationStore):
    return store.attack_corrections().rows(), store.cluster_corrections().rows(), store.mitigations().select(
        "kind", "key", "status", "owner", "due_date", "note", "link").rows()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_import_round_trip(db, tmp_path, fmt):
    store = _fill(db)
    out = tmp_path / f"annotations.{fmt}"
    result = runner.invoke(app, ["annotations", "export", "--db", str(db), "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    if fmt == "csv":  # nothing a spreadsheet would run
        with open(out, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) > 10
        for row in rows:
            assert not row["value"].startswith(("=", "+", "-", "@", "\t", "\r"))
    other = tmp_path / "other" / "risk.duckdb"
    other.parent.mkdir()
    shutil.copyfile(db, other)
    result = runner.invoke(app, ["annotations", "import", str(out), "--db", str(other), "--user", "importer"])
    assert result.exit_code == 0, result.output
    assert "rejected 0" in result.output
    imported = AnnotationStore.for_database(other)
    assert _state(imported) == _state(store)
    history = imported.history(limit=10_000)
    assert set(history["user"].to_list()) == {"importer"}
    assert set(history["source"].to_list()) == {f"import annotations.{fmt}"}
    # exporting the imported store gives the same file; importing again changes nothing
    again = runner.invoke(app, ["annotations", "export", "--db", str(other), "--format", fmt])
    with open(out, encoding="utf-8", newline="") as fh:
        assert again.stdout == fh.read()
    version = imported.version()
    assert runner.invoke(app, ["annotations", "import", str(out), "--db", str(other)]).exit_code == 0
    assert imported.version() == version


def test_bad_rows_are_rejected_with_reasons_and_the_rest_applied(db, tmp_path):
    store = AnnotationStore.for_database(db)
    store.set_attack_note("a00009", "keep me", user="u")
    rows = [
        {"entity_kind": "attack", "entity_id": "a00001", "field": "theme", "value": "privacy_pii"},
        {"entity_kind": "attack", "entity_id": "no-such-attack", "field": "theme", "value": "privacy_pii"},
        {"entity_kind": "attack", "entity_id": "a00002", "field": "theme", "value": "not_a_theme"},
        {"entity_kind": "attack", "entity_id": "a00002", "field": "colour", "value": "red"},
        {"entity_kind": "planet", "entity_id": "x", "field": "theme", "value": "y"},
        {"entity_kind": "cluster", "entity_id": "0", "field": "merged_into", "value": "0"},
        {"entity_kind": "cluster", "entity_id": "1", "field": "label", "value": "fine"},
        {"entity_kind": "mitigation", "entity_id": "theme:privacy_pii", "field": "status", "value": "done"},
        {"entity_kind": "mitigation", "entity_id": "theme:privacy_pii", "field": "due_date", "value": "2027-02-30"},
        {"entity_kind": "mitigation", "entity_id": "cluster:1", "field": "owner", "value": "ok"},
        "not an object",
    ]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "redteam-risk-annotations", "version": 1, "rows": rows}))
    result = runner.invoke(app, ["annotations", "import", str(path), "--db", str(db)])
    assert result.exit_code == 1
    for n in (2, 3, 4, 5, 6, 8, 9, 11):
        assert f"row {n}: " in result.output
    assert "row 1:" not in result.output and "row 7:" not in result.output and "row 10:" not in result.output
    assert "imported 3 rows" in result.output and "rejected 8" in result.output
    corrections = {r["attack_id"]: r for r in store.attack_corrections().iter_rows(named=True)}
    assert corrections["a00001"]["theme"] == "privacy_pii" and corrections["a00009"]["note"] == "keep me"
    assert store.cluster_corrections().rows() == [(1, "fine", None, None, None)]
    assert store.mitigations().select("kind", "key", "owner").rows() == [("cluster", "1", "ok")]


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"rows": []}', "not a redteam-risk annotations export"),
    ('{"format": "redteam-risk-annotations", "version": 99, "rows": []}', "export version 99"),
    ("a,b\n1,2\n", "neither an annotations JSON export nor a CSV"),
])
def test_unusable_files_are_refused_whole(db, tmp_path, content, message):
    store = AnnotationStore.for_database(db)
    store.set_attack_note("a00009", "keep me", user="u")
    path = tmp_path / "file.txt"
    path.write_text(content)
    result = runner.invoke(app, ["annotations", "import", str(path), "--db", str(db)])
    assert result.exit_code != 0 and message in str(result.exception or result.output)
    assert store.attack_corrections()["note"].to_list() == ["keep me"] and store.history().height == 1


def test_export_without_a_store_says_so(db):
    result = runner.invoke(app, ["annotations", "export", "--db", str(db)])
    assert result.exit_code != 0 and "no annotations beside" in str(result.exception)
