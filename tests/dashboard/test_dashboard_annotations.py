"""AppTest of the dashboard's editing: editors correct clusters and attacks and track mitigations, and every
metric changes; viewers see the same values with no edit widget and a forged write is refused; hostile text in
every annotation field renders as text; the History page lists and undoes changes.

Each test works on its own copy of the fixture database, so the annotations store beside it starts empty.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from annotations.store import AnnotationError, AnnotationStore
from tests.dashboard.test_dashboard_app import APP, TIMEOUT, metric, open_page, plain, texts
from tests.fixture_db import XSS_ID

PIRACY_RLHF = {"themes": "digital_piracy_ip", "model_types": "rlhf", "model_sizes": ["13B", "52B"]}  # 20 attacks
MISINFO_FORM = "priority_mitigation_theme_misinformation_conspiracy_"  # widget keys: + field + generation
HOSTILE = "<script>alert(1)</script> **bold** [x](javascript:alert(1)) ![t](http://example.invalid/t.png) :red[r] $x$"


@pytest.fixture()
def db(fixture_db: Path, tmp_path: Path) -> Path:
    """A private copy of the fixture database (its annotations store starts empty)."""
    return Path(shutil.copy(fixture_db, tmp_path / "risk.duckdb"))


@pytest.fixture()
def store(db: Path) -> AnnotationStore:
    return AnnotationStore.for_database(db)


@pytest.fixture()
def make(db: Path, monkeypatch: pytest.MonkeyPatch, fresh_resources) -> Callable[..., AppTest]:
    """``make(**query)``: an AppTest of the dashboard on the private copy; no access control (local editor)."""
    monkeypatch.setenv("REDTEAM_RISK_DB", str(db))
    monkeypatch.delenv("REDTEAM_RISK_PASSWORD", raising=False)
    monkeypatch.delenv("REDTEAM_RISK_EDITOR_PASSWORD", raising=False)

    def factory(**query) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.query_params.update(query)
        return at

    return factory


def as_viewer(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Sign ``at`` in with the viewer password (an editor password is configured too)."""
    monkeypatch.setenv("REDTEAM_RISK_PASSWORD", "view pass")
    monkeypatch.setenv("REDTEAM_RISK_EDITOR_PASSWORD", "edit pass")
    at.run()
    at.text_input[0].input("view pass")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def edit_widgets(at: AppTest) -> list[str]:
    """Labels of everything that edits annotations (form submit buttons and the undo button)."""
    return [b.label for b in at.button if b.label in ("Save cluster", "Save attack", "Apply", "Save")
            or b.label.startswith("Undo")]


def area_table(at: AppTest):
    """The Priorities ranking table (a pandas frame)."""
    return next(d.value for d in at.dataframe if "area" in d.value.columns)


def area_row(at: AppTest, area: str) -> dict:
    table = area_table(at)
    return table[table["area"] == area].iloc[0].to_dict()


def test_editor_renames_a_cluster_and_the_priorities_use_the_new_name(make, store):
    at = open_page(make(), "attack_map")
    at.selectbox(key="map_cluster").set_value(0).run()
    at.text_input(key="cluster_0_label_g0").input("Moon-landing hoaxes")
    at.checkbox(key="cluster_0_reviewed_g0").check()
    button(at, "Save cluster").click().run()
    assert not at.exception and "Cluster 0 saved" in texts(at)
    assert store.cluster_corrections().filter(pl.col("cluster_id") == 0).row(0, named=True)["label"] == \
        "Moon-landing hoaxes"
    go(at, "priorities")
    at.radio(key="priority_kind").set_value("cluster").run()
    assert "Moon-landing hoaxes" in set(area_table(at)["area"])


def test_editor_moves_attacks_to_another_theme_and_every_count_follows(make, store):
    at = open_page(make(**PIRACY_RLHF), "explorer")
    assert "n = 20 attacks" in texts(at)
    at.radio(key="bulk_action").set_value("theme")
    at.selectbox(key="bulk_theme").set_value("violence_incitement")
    at.checkbox(key="bulk_confirm").check()
    button(at, "Apply").click().run()
    assert not at.exception
    assert "20 attacks moved to Violence & incitement" in texts(at)
    assert store.attack_corrections().filter(pl.col("theme") == "violence_incitement").height == 20
    # the same filters now match nothing (they left the theme), and the whole scope says what was corrected
    assert "No attacks match the current filters" in texts(at)
    at = open_page(make(), "priorities")
    assert area_row(at, "Violence & incitement")["n_attacks"] == 140
    assert area_row(at, "Digital piracy & intellectual property")["n_attacks"] == 100
    assert "analyst-corrected: 20 themes" in texts(at)


def test_editor_corrects_only_the_rows_ticked_in_the_table(make, store):
    at = open_page(make(**PIRACY_RLHF), "explorer")
    ticked = list(at.dataframe[0].value["attack_id"].iloc[[0, 2, 3]])
    at.session_state["explorer_table_0"] = {"selection": {"rows": [0, 2, 3], "columns": [], "cells": []}}
    at.run()
    assert any(e.label == "Correct all 3 attacks ticked in the table at once" for e in at.expander)
    at.radio(key="bulk_action").set_value("exclusion")
    at.radio(key="bulk_exclusion").set_value("not_an_attack")
    at.checkbox(key="bulk_confirm").check()
    button(at, "Apply").click().run()
    assert "3 attacks excluded as not an attack." in texts(at)
    excluded = store.attack_corrections().filter(pl.col("exclusion") == "not_an_attack")["attack_id"].to_list()
    assert sorted(excluded) == sorted(ticked)
    assert "n = 17 attacks" in texts(at)


def test_bulk_change_needs_confirmation(make, store):
    at = open_page(make(**PIRACY_RLHF), "explorer")
    at.radio(key="bulk_action").set_value("success")
    at.radio(key="bulk_success").set_value(True)
    button(at, "Apply").click().run()
    assert "to confirm" in texts(at)
    assert store.attack_corrections().height == 0


def test_editor_overrides_success_and_the_success_rate_changes(make, store):
    at = open_page(make(**PIRACY_RLHF), "overview")
    before = metric(at, "Success rate")
    go(at, "explorer")
    at.radio(key="bulk_action").set_value("success")
    at.radio(key="bulk_success").set_value(True)
    at.checkbox(key="bulk_confirm").check()
    button(at, "Apply").click().run()
    assert "20 attacks marked successful" in texts(at)
    go(at, "overview")
    assert metric(at, "Success rate") == "100.0%" != before
    assert "analyst-corrected: 20 success verdicts" in texts(at)


def test_editor_corrects_one_attack_with_a_verdict_an_exclusion_and_a_note(make, store):
    at = open_page(make(attack="a00000"), "explorer")
    n_before = data_attacks(make)
    at.radio(key="attack_a00000_exclusion_g0").set_value("duplicate")
    at.text_area(key="attack_a00000_note_g0").input("Same as a00001.")
    button(at, "Save attack").click().run()
    assert not at.exception and "Attack a00000 saved" in texts(at)
    assert "excluded as duplicate; note: Same as a00001." in texts(at)
    assert data_attacks(make) == n_before - 1  # excluded from every metric


def data_attacks(make) -> int:
    return int(metric(open_page(make(), "overview"), "Attacks").replace(",", ""))


def test_editor_tracks_a_mitigation_and_priorities_filter_by_status(make, store):
    at = open_page(make(), "priorities")
    at.selectbox(key="priority_mitigation_theme_area").set_value("misinformation_conspiracy").run()
    at.selectbox(key=MISINFO_FORM + "status_g0").set_value("in_progress")
    at.text_input(key=MISINFO_FORM + "owner_g0").input("Trust & Safety")
    at.text_input(key=MISINFO_FORM + "link_g0").input(
        "https://tickets.example.org/RISK-1")
    button(at, "Save").click().run()
    assert not at.exception and "Mitigation of Misinformation & conspiracy theories saved" in texts(at)
    row = area_row(at, "Misinformation & conspiracy theories")
    assert (row["mitigation"], row["owner"], row["link"]) == ("in progress", "Trust & Safety",
                                                              "https://tickets.example.org/RISK-1")
    at.multiselect(key="priority_status_theme").select("in_progress").run()
    assert list(area_table(at)["area"]) == [
        "Misinformation & conspiracy theories"]
    go(at, "overview")
    assert "Mitigation: in progress · owner Trust & Safety" in texts(at)
    history = store.history()
    assert set(history["field"]) == {"status", "owner", "link"} and set(history["user"]) == {"local"}


def test_a_form_left_open_writes_only_what_its_user_changed(make, store):
    """Two editors: B saves an owner while A's form (opened before) still shows none; A's save of the status
    must not write A's stale empty owner back over B's."""
    at = open_page(make(), "priorities")
    at.selectbox(key="priority_mitigation_theme_area").set_value("misinformation_conspiracy").run()
    store.set_mitigation("theme", "misinformation_conspiracy", owner="Bob", user="bob@example.org")
    at.run()  # A's session reruns (any interaction): A's form keeps what it showed
    at.selectbox(key=MISINFO_FORM + "status_g0").set_value("mitigated")
    button(at, "Save").click().run()
    assert not at.exception
    row = store.mitigations().row(0, named=True)
    assert (row["status"], row["owner"]) == ("mitigated", "Bob")
    assert at.text_input(key=MISINFO_FORM + "owner_g1").value == "Bob"  # the next form shows B's owner


def test_viewer_sees_the_corrections_but_no_edit_widget(make, store, monkeypatch):
    store.rename_cluster(0, "Moon-landing hoaxes", user="lead@example.org")
    store.set_mitigation("theme", "misinformation_conspiracy", status="in_progress", owner="T&S", user="lead")
    store.set_attack_theme(["a00000", "a00001"], "violence_incitement", user="lead")
    at = as_viewer(make(attack="a00000"), monkeypatch)
    assert "Mitigation: in progress · owner T&S" in texts(at)
    assert not edit_widgets(at)
    for page in ("attack_map", "priorities", "explorer", "history"):
        go(at, page)
        if page == "attack_map":
            at.selectbox(key="map_cluster").set_value(0).run()
        if page == "explorer":
            at.selectbox(key="explorer_open_0_").set_value("a00000").run()
            assert "Analyst corrections: theme set to Violence & incitement" in texts(at)
        if page == "priorities":
            at.radio(key="priority_kind").set_value("cluster").run()
            assert "Moon-landing hoaxes" in set(area_table(at)["area"])
        assert not edit_widgets(at), (page, edit_widgets(at))
        assert not at.text_area and [d.key for d in at.main.date_input] in ([], ["history_since"]), page
    assert "analyst-corrected: 2 themes" in texts(go(at, "overview"))
    assert len(next(d.value for d in go(at, "history").dataframe)) == 5  # rename, status, owner, two themes


def _forged_write(action: str) -> None:
    """Runs inside AppTest: a viewer session calls a write directly, as a forged widget event would."""
    import streamlit as st

    from dashboard import auth, editing

    st.session_state["_redteam_risk_authenticated"] = auth.VIEWER
    writes = {"rename": lambda: editing.rename_cluster(0, "forged"),
              "theme": lambda: editing.set_attack_theme(["a00000"], "violence_incitement"),
              "mitigation": lambda: editing.set_mitigation("theme", "privacy_pii", status="mitigated"),
              "undo": lambda: editing.undo(1)}
    try:
        writes[action]()
    except auth.NotAllowed as exc:
        st.text(f"refused: {exc}")


@pytest.mark.parametrize("action", ["rename", "theme", "mitigation", "undo"])
def test_a_forged_write_from_a_viewer_is_refused(db, store, monkeypatch, action, fresh_resources):
    monkeypatch.setenv("REDTEAM_RISK_DB", str(db))
    monkeypatch.setenv("REDTEAM_RISK_PASSWORD", "view pass")
    monkeypatch.setenv("REDTEAM_RISK_EDITOR_PASSWORD", "edit pass")
    store.set_mitigation("theme", "privacy_pii", status="open", user="lead")  # change 1, for the undo
    version = store.version()
    at = AppTest.from_function(_forged_write, args=(action,), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert at.text[0].value == "refused: Only editors can change annotations; this session may only read."
    assert store.version() == version and store.history().height == 1


def test_history_lists_changes_and_an_editor_undoes_one(make, store):
    store.rename_cluster(1, "first name", user="alice@example.org")
    change = store.rename_cluster(1, "second name", user="bob@example.org")
    store.set_attack_success(["a00002"], True, user="alice@example.org")
    at = open_page(make(), "history")
    assert len(at.dataframe[0].value) == 3
    at.selectbox(key="history_user").set_value("alice@example.org").run()
    assert set(at.dataframe[0].value["user"]) == {"alice@example.org"} and len(at.dataframe[0].value) == 2
    at.selectbox(key="history_user").set_value(None)
    at.selectbox(key="history_kind").set_value("cluster").run()
    assert set(at.dataframe[0].value["field"]) == {"label"}
    at.selectbox(key="history_undo_choice").set_value(change).run()
    button(at, f"Undo change #{change}").click().run()
    assert not at.exception and f"Change #{change} undone" in texts(at)
    assert store.cluster_corrections().filter(pl.col("cluster_id") == 1).row(0, named=True)["label"] == "first name"
    newest = at.dataframe[0].value.iloc[0]
    assert (newest["user"], newest["new_value"], newest["source"]) == ("local", "first name",
                                                                        f"undo of change {change}")


def test_hostile_text_in_every_annotation_field_renders_as_text(make, store, monkeypatch):
    user = f"{HOSTILE}@example.org"
    store.rename_cluster(0, HOSTILE, user=user)
    store.set_attack_note(XSS_ID, HOSTILE, user=user)
    store.set_attack_theme([XSS_ID], "violence_incitement", user=user)
    with pytest.raises(AnnotationError):  # the store refuses it; the page would not link it either (safe_url)
        store.set_mitigation("theme", "misinformation_conspiracy", link="javascript:alert(1)", user=user)
    store.set_mitigation("theme", "misinformation_conspiracy", status="in_progress", owner=HOSTILE, note=HOSTILE,
                         user=user)
    store.set_mitigation("theme", "violence_incitement", owner="ok", link=f"https://x.example.org/{HOSTILE}",
                         user=user)
    at = open_page(make(attack=XSS_ID), "overview")
    # links: only the http(s) one is a link, percent-encoded; the javascript: one is never a link
    links = [m.value for m in at.markdown if "](" in m.value]
    assert len(links) == 1 and links[0].startswith("[") and "](https://x.example.org/" in links[0], links
    assert "%3Cscript%3E" in links[0] and " " not in links[0].split("](")[1]
    table = next(d.value for d in at.dataframe if "link" in d.value.columns)["link"].dropna().tolist()
    assert len(table) == 1 and table[0].startswith("https://x.example.org/")
    for page in ("overview", "priorities", "attack_map", "explorer", "history"):
        if page != "overview":
            go(at, page)
        if page == "attack_map":
            at.selectbox(key="map_cluster").set_value(0).run()
        if page == "priorities":
            at.radio(key="priority_kind").set_value("cluster").run()
        assert not at.exception, page
        markdown = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
                    for e in at.get(kind)]
        for value in markdown:  # data reaches markdown only backslash-escaped
            assert "<script>" not in value and "**bold**" not in value and "](javascript:" not in value, (page, value)
            assert "![t](" not in value and ":red[" not in value, (page, value)
        shown = "\n".join([t.value for t in at.text] + [plain(v) for v in markdown]
                          + [str(v) for d in at.dataframe for v in d.value.to_numpy().ravel()])
        assert HOSTILE in shown, page  # literally, as text (a table cell, a text element or escaped markdown)


def test_data_and_runs_lists_the_corrections_a_rebuild_could_not_carry_over(make, db, tmp_path):
    from annotations.carry import carry_over
    from annotations.store import store_path_for

    # a correction made on an earlier build, of an attack this build no longer has
    earlier = AnnotationStore(store_path_for(db), db_path=tmp_path / "earlier-build.duckdb")
    earlier.set_attack_note("gone-0001", "keep me", user="lead@example.org")
    assert carry_over(db).attacks_unplaced == 1
    at = open_page(make(), "data_runs")
    assert "1 analyst correction could not be placed" in texts(at)
    unplaced = next(d.value for d in at.dataframe if "reason" in d.value.columns and "entity_id" in d.value.columns)
    assert list(unplaced["entity_id"]) == ["gone-0001"] and "keep me" in unplaced["value"].iloc[0]


def test_a_password_editor_who_gives_a_name_is_recorded_by_name(make, store, monkeypatch):
    monkeypatch.setenv("REDTEAM_RISK_PASSWORD", "view pass")
    monkeypatch.setenv("REDTEAM_RISK_EDITOR_PASSWORD", "edit pass")
    at = make()
    at.run()
    at.text_input[0].input("edit pass")
    at.text_input[1].input("  Ana *Lopez*   de  <b>Silva</b> ")
    at.button[0].click().run()
    assert not at.exception
    caption = next(c.value for c in at.sidebar.caption if c.value.startswith("Signed in as"))
    assert "Ana \\*Lopez\\* de \\<b\\>Silva\\</b\\> \\(editor\\)" in caption  # escaped, not markup
    go(at, "priorities")
    at.text_input(key=MISINFO_FORM + "owner_g0").input("T&S")
    button(at, "Save").click().run()
    assert set(store.history()["user"]) == {"Ana *Lopez* de <b>Silva</b> (editor)"}
