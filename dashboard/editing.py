"""The dashboard's only write path: analyst corrections, mitigation tracking and undo, through the annotations
store beside the published database (``annotations.store``; the published file itself is never written).

Every function here checks the session's role first (``auth.require_edit``, server side: a session that was
never shown an edit widget but forges a widget event is refused all the same) and records the signed-in user
in the store's history. The edit widgets (``cluster_form``, ``attack_form``, ``bulk_form``, ``mitigation_form``)
are drawn only for editors and call these functions on submit; the store's ``AnnotationError`` (an invalid
value) and ``auth.NotAllowed`` are shown as one readable line, anything else propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from annotations.store import EXCLUSION_REASONS, MITIGATION_STATUSES, AnnotationStore
from dashboard import auth, data
from dashboard.safety import escape_markdown, safe_url
from etl.errors import UserError

STATUS_LABELS = {"open": "open", "in_progress": "in progress", "mitigated": "mitigated",
                 "accepted_risk": "accepted risk"}
EXCLUSION_LABELS = {None: "counted (not excluded)", "not_an_attack": "not an attack", "duplicate": "duplicate"}
SUCCESS_LABELS = {None: "as rated (no override)", True: "successful", False: "not successful"}
assert set(STATUS_LABELS) == set(MITIGATION_STATUSES) and set(EXCLUSION_LABELS) - {None} == set(EXCLUSION_REASONS)
_FLASH = "_redteam_risk_flash"


def _store() -> tuple[AnnotationStore, str]:
    """The store and the user to record, after the role check (raises ``auth.NotAllowed``)."""
    user = auth.require_edit()
    return data.annotation_store(), user


# --- writes (each one role-checked) -------------------------------------------------------------------------


def rename_cluster(cluster_id: int, label: str) -> int:
    store, user = _store()
    return store.rename_cluster(int(cluster_id), label, user=user)


def set_cluster_theme(cluster_id: int, theme_id: str | None) -> int:
    store, user = _store()
    return store.set_cluster_theme(int(cluster_id), theme_id, user=user)


def merge_cluster(cluster_id: int, into_cluster_id: int | None) -> int:
    store, user = _store()
    return store.merge_cluster(int(cluster_id), None if into_cluster_id is None else int(into_cluster_id), user=user)


def mark_cluster_reviewed(cluster_id: int, reviewed: bool) -> int:
    store, user = _store()
    return store.mark_cluster_reviewed(int(cluster_id), bool(reviewed), user=user)


def set_attack_theme(attack_ids: Iterable[str], theme_id: str | None) -> list[int]:
    store, user = _store()
    return store.set_attack_theme(list(attack_ids), theme_id, user=user)


def set_attack_success(attack_ids: Iterable[str], success: bool | None) -> list[int]:
    store, user = _store()
    return store.set_attack_success(list(attack_ids), success, user=user)


def set_attack_exclusion(attack_ids: Iterable[str], reason: str | None) -> list[int]:
    store, user = _store()
    return store.set_attack_exclusion(list(attack_ids), reason, user=user)


def set_attack_note(attack_id: str, note: str | None) -> int:
    store, user = _store()
    return store.set_attack_note(attack_id, note, user=user)


def set_mitigation(kind: str, key: str, **fields: Any) -> list[int]:
    """Only the given fields change (status, owner, due_date, note, link)."""
    store, user = _store()
    return store.set_mitigation(kind, str(key), user=user, **fields)


def undo(change_id: int) -> int:
    store, user = _store()
    return store.undo(int(change_id), user=user)


# --- current state, for the edit widgets' defaults -----------------------------------------------------------




def attack_correction(attack_id: str) -> dict:
    """The analyst's corrections of one attack (theme, success, exclusion, note; None where not corrected)."""
    store = data.existing_store()
    frame = store.attack_corrections() if store is not None else None
    rows = frame.filter(pl.col("attack_id") == attack_id).to_dicts() if frame is not None else []
    return rows[0] if rows else {"attack_id": attack_id, "theme": None, "success": None, "exclusion": None,
                                 "note": None}


def cluster_correction(cluster_id: int) -> dict:
    store = data.existing_store()
    frame = store.cluster_corrections() if store is not None else None
    rows = frame.filter(pl.col("cluster_id") == int(cluster_id)).to_dicts() if frame is not None else []
    return rows[0] if rows else {"cluster_id": int(cluster_id), "label": None, "theme": None, "merged_into": None,
                                 "reviewed": None}


# --- UI helpers -------------------------------------------------------------------------------------------------


def flash(message: str) -> None:
    """Keep a confirmation (our own words, markdown-escaped) for the next run, then rerun."""
    st.session_state[_FLASH] = message
    st.rerun()


def show_flash() -> None:
    message = st.session_state.pop(_FLASH, None)
    if message:
        st.success(message, icon=":material/check:")


class Shown:
    """What one edit form showed the user: its values are the defaults of this *generation* of the form, fixed
    at its first render. On submit only the fields the user changed from these are written, so a form left
    open while another editor saves elsewhere never writes its stale values back over theirs. A successful
    save starts a new generation (new widget keys), which shows the current values."""

    def __init__(self, form: str, now: dict) -> None:
        self.form = form
        self.generation = st.session_state.setdefault(f"_form_gen_{form}", 0)
        self.values: dict = st.session_state.setdefault(f"_form_shown_{form}_{self.generation}", dict(now))

    def __getitem__(self, field: str) -> Any:
        return self.values[field]

    def key(self, field: str) -> str:
        """The widget key of ``field`` in this generation of the form."""
        return f"{self.form}_{field}_g{self.generation}"

    def saved(self) -> None:
        st.session_state.pop(f"_form_shown_{self.form}_{self.generation}", None)
        st.session_state[f"_form_gen_{self.form}"] = self.generation + 1


def apply(action: Callable[[], Any], done: str, shown: Shown | None = None) -> bool:
    """Run one write; on success start a new generation of the form (``shown``) and rerun with ``done`` as the
    confirmation (escaped here); on a refused or invalid write show why and return False."""
    try:
        action()
    except UserError as exc:  # auth.NotAllowed, annotations.store.AnnotationError
        st.error(escape_markdown(exc))
        return False
    if shown is not None:
        shown.saved()
    flash(escape_markdown(done))
    return True


def due_date(value: Any) -> date | None:
    """A stored due date (ISO text or date) as a date for ``st.date_input``; None when absent or unreadable."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _changed(pairs: list[tuple[bool, Callable[[], Any]]]) -> list[Callable[[], Any]]:
    return [write for differs, write in pairs if differs]


def _save(writes: list[Callable[[], Any]], done: str, shown: Shown) -> None:
    if not writes:
        st.info("Nothing changed.")
        return
    apply(lambda: [write() for write in writes], done, shown)


def _theme_name(options: data.FilterOptions) -> Callable[[str | None], str]:
    return lambda t: "no correction (as inferred)" if t is None else options.themes.get(t, t)


# --- edit widgets (editors only) ------------------------------------------------------------------------------


def cluster_form(cluster_id: int, options: data.FilterOptions) -> None:
    """Rename, set the theme of, merge or mark reviewed one cluster (editors only; nothing for viewers)."""
    if not auth.can_edit():
        return
    cluster_id = int(cluster_id)
    now = cluster_correction(cluster_id)
    shown = Shown(f"cluster_{cluster_id}", {**now, "label": now["label"] or options.clusters.get(cluster_id, ""),
                                            "reviewed": bool(now["reviewed"])})
    themes = [None, *options.themes]
    others = [None, *(c for c in options.clusters if c >= 0 and c != cluster_id)]
    with st.expander(f"Correct cluster {cluster_id}", icon=":material/edit:"), \
            st.form(f"cluster_form_{cluster_id}", border=False):
        label = st.text_input("Name", value=shown["label"], max_chars=200, key=shown.key("label"))
        theme = st.selectbox("Theme of its attacks", themes, key=shown.key("theme"),
                             index=themes.index(shown["theme"]) if shown["theme"] in themes else 0,
                             format_func=_theme_name(options))
        into = st.selectbox("Merge into", others, key=shown.key("merge"),
                            index=others.index(shown["merged_into"]) if shown["merged_into"] in others else 0,
                            format_func=lambda c: "not merged" if c is None else f"{c}: {options.clusters.get(c, '')}")
        reviewed = st.checkbox("Reviewed", value=shown["reviewed"], key=shown.key("reviewed"))
        submitted = st.form_submit_button("Save cluster", icon=":material/save:")
    if submitted:
        _save(_changed([
            (label.strip() != shown["label"], lambda: rename_cluster(cluster_id, label.strip())),
            (theme != shown["theme"], lambda: set_cluster_theme(cluster_id, theme)),
            (into != shown["merged_into"], lambda: merge_cluster(cluster_id, into)),
            (reviewed != shown["reviewed"], lambda: mark_cluster_reviewed(cluster_id, reviewed)),
        ]), f"Cluster {cluster_id} saved.", shown)


def correction_line(attack_id: str, options: data.FilterOptions) -> str | None:
    """The analyst's corrections of one attack in one plain-text line (for ``st.text``; the values above it are
    the build's), or None."""
    now = attack_correction(attack_id)
    parts = []
    if now["theme"] is not None:
        parts.append(f"theme set to {options.themes.get(now['theme'], now['theme'])}")
    if now["success"] is not None:
        parts.append(f"success set to {'yes' if now['success'] else 'no'}")
    if now["exclusion"] is not None:
        parts.append(f"excluded as {EXCLUSION_LABELS.get(now['exclusion'], now['exclusion'])}")
    if now["note"]:
        parts.append(f"note: {now['note']}")
    return "Analyst corrections: " + "; ".join(parts) if parts else None


def attack_form(attack_id: str, options: data.FilterOptions) -> None:
    """Theme, success verdict, exclusion and note of one attack (editors only)."""
    if not auth.can_edit():
        return
    shown = Shown(f"attack_{attack_id}", attack_correction(attack_id))
    themes = [None, *options.themes]
    verdicts = list(SUCCESS_LABELS)
    exclusions = list(EXCLUSION_LABELS)
    with st.expander("Correct this attack", icon=":material/edit:"), st.form("attack_form", border=False):
        theme = st.selectbox("Theme", themes, key=shown.key("theme"), format_func=_theme_name(options),
                             index=themes.index(shown["theme"]) if shown["theme"] in themes else 0)
        success = st.radio("Analyst verdict on success", verdicts, key=shown.key("success"),
                           index=verdicts.index(shown["success"]), format_func=SUCCESS_LABELS.get, horizontal=True)
        exclusion = st.radio("Counted in the metrics?", exclusions, key=shown.key("exclusion"),
                             index=exclusions.index(shown["exclusion"]) if shown["exclusion"] in exclusions else 0,
                             format_func=EXCLUSION_LABELS.get, horizontal=True)
        note = st.text_area("Note", value=shown["note"] or "", max_chars=5000, key=shown.key("note"))
        submitted = st.form_submit_button("Save attack", icon=":material/save:")
    if submitted:
        _save(_changed([
            (theme != shown["theme"], lambda: set_attack_theme([attack_id], theme)),
            (success != shown["success"], lambda: set_attack_success([attack_id], success)),
            (exclusion != shown["exclusion"], lambda: set_attack_exclusion([attack_id], exclusion)),
            (note.strip() != (shown["note"] or ""), lambda: set_attack_note(attack_id, note.strip() or None)),
        ]), f"Attack {attack_id} saved.", shown)


BULK_ACTIONS = {"theme": "Move them to a theme", "success": "Set the success verdict",
                "exclusion": "Exclude them from the metrics (or count them again)"}


def bulk_form(ids: Callable[[], list[str]], n: int, options: data.FilterOptions, which: str = "in view") -> None:
    """One correction for ``n`` attacks (``ids()`` is called only on submit; ``which`` says which, in our own
    words), editors only."""
    if not auth.can_edit() or n == 0:
        return
    themes = list(options.themes)
    with st.expander(f"Correct all {n:,} attacks {which} at once", icon=":material/edit_note:"), \
            st.form("bulk_form", border=False):
        action = st.radio("Change", list(BULK_ACTIONS), format_func=BULK_ACTIONS.get, key="bulk_action")
        theme = st.selectbox("Theme", themes, format_func=options.themes.get, key="bulk_theme")
        success = st.radio("Success verdict", list(SUCCESS_LABELS), format_func=SUCCESS_LABELS.get,
                           horizontal=True, key="bulk_success")
        exclusion = st.radio("Counted in the metrics?", list(EXCLUSION_LABELS), format_func=EXCLUSION_LABELS.get,
                             horizontal=True, key="bulk_exclusion")
        sure = st.checkbox(f"Change all {n:,} attacks", key="bulk_confirm")
        submitted = st.form_submit_button("Apply", icon=":material/done_all:")
    if not submitted:
        return
    if not sure:
        st.warning(f"Tick “Change all {n:,} attacks” to confirm.")
        return
    write, what = {
        "theme": (lambda chosen: set_attack_theme(chosen, theme), f"moved to {options.themes.get(theme, theme)}"),
        "success": (lambda chosen: set_attack_success(chosen, success), f"marked {SUCCESS_LABELS[success]}"),
        "exclusion": (lambda chosen: set_attack_exclusion(chosen, exclusion),
                      "counted again" if exclusion is None else f"excluded as {EXCLUSION_LABELS[exclusion]}"),
    }[action]
    chosen = ids()
    apply(lambda: write(chosen), f"{len(chosen):,} attacks {what}.")


# --- mitigation tracking ------------------------------------------------------------------------------------

MITIGATION_COLUMNS = ("status", "owner", "due_date", "note", "link", "updated_by", "updated_at")
SHOWN_COLUMNS = ("mitigation", "owner", "due_date", "note", "link", "updated_by", "updated_at")  # status in words


def area_key(kind: str) -> str:
    """The column of ``data.priority_areas(kind=…)`` that names an area."""
    return "theme" if kind == "theme" else "cluster_id"


def with_mitigations(areas: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``areas`` (a priority-areas frame) with the tracking columns; areas nobody tracks yet are "open"."""
    tracked = data.mitigations()
    tracked = tracked.filter(pl.col("kind") == kind).select(
        pl.col("key").cast(pl.String).alias("_key"), *(pl.col(c) for c in MITIGATION_COLUMNS))
    out = areas.with_columns(pl.col(area_key(kind)).cast(pl.String).alias("_key")).join(
        tracked, on="_key", how="left").drop("_key")
    # safe_url in this thread, not as a polars map_elements: a Python function inside polars runs on polars'
    # thread pool and needs the GIL there, while another session's to_pandas (st.dataframe) holds the GIL waiting
    # for that same pool: the whole server deadlocked under concurrent sessions (docs/performance.md, "Load").
    links = pl.Series("link", [None if u is None else safe_url(u) for u in out["link"].to_list()], dtype=pl.String)
    out = out.with_columns(pl.col("status").fill_null("open"), links)
    return out.with_columns(pl.col("status").replace_strict(STATUS_LABELS, default=pl.col("status"))
                            .alias("mitigation"))


def status_filter(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """A status multiselect over ``frame`` (with ``with_mitigations``' columns); the rows it keeps."""
    chosen = st.multiselect("Mitigation status", list(STATUS_LABELS), format_func=STATUS_LABELS.get, key=key,
                            placeholder="All statuses")
    return frame.filter(pl.col("status").is_in(chosen)) if chosen else frame


def mitigation_form(areas: pl.DataFrame, kind: str, name_col: str, key: str) -> None:
    """Status, owner, due date, note and link of one priority area (editors only). ``areas`` carries the
    tracking columns (``with_mitigations``)."""
    if not auth.can_edit() or areas.height == 0:
        return
    rows = {str(r[area_key(kind)]): r for r in areas.sort("rank").iter_rows(named=True)}
    with st.expander("Track the mitigation of an area", icon=":material/assignment:"):
        area = st.selectbox("Area", list(rows), key=f"{key}_area",
                            format_func=lambda k: f"#{rows[k]['rank']} {rows[k][name_col]}")
        shown = Shown(f"{key}_{area}", {f: rows[area][f] for f in MITIGATION_COLUMNS})
        with st.form(f"{key}_form_{area}", border=False):
            statuses = list(STATUS_LABELS)
            status = st.selectbox("Status", statuses, index=statuses.index(shown["status"]),
                                  format_func=STATUS_LABELS.get, key=shown.key("status"))
            owner = st.text_input("Owner", value=shown["owner"] or "", max_chars=200, key=shown.key("owner"))
            due = st.date_input("Due date", value=due_date(shown["due_date"]), key=shown.key("due"))
            note = st.text_area("Note", value=shown["note"] or "", max_chars=5000, key=shown.key("note"))
            link = st.text_input("Link (http or https)", value=shown["link"] or "", max_chars=2000,
                                 key=shown.key("link"))
            submitted = st.form_submit_button("Save", icon=":material/save:")
    if not submitted:
        return
    fields = {}
    if status != shown["status"]:
        fields["status"] = status
    for name, value in (("owner", owner), ("note", note), ("link", link)):
        if value.strip() != (shown[name] or ""):
            fields[name] = value.strip()  # "" clears the field
    if due != due_date(shown["due_date"]):
        fields["due_date"] = due.isoformat() if due else ""
    if not fields:
        st.info("Nothing changed.")
        return
    apply(lambda: set_mitigation(kind, area, **fields), f"Mitigation of {rows[area][name_col]} saved.", shown)


MITIGATION_CONFIG = {
    "due_date": st.column_config.TextColumn("due"),
    "link": st.column_config.LinkColumn("link", help="Only http(s) links are shown."),
    "note": st.column_config.TextColumn("note", width="medium"),
    "updated_by": st.column_config.TextColumn("updated by"),
    "updated_at": st.column_config.TextColumn("updated"),
}


def mitigation_line(row: dict) -> str:
    """One plain-text line (for ``st.text``) of an area's mitigation tracking."""
    parts = [f"Mitigation: {STATUS_LABELS.get(row['status'], row['status'])}"]
    if row.get("owner"):
        parts.append(f"owner {row['owner']}")
    if row.get("due_date"):
        parts.append(f"due {str(row['due_date'])[:10]}")
    if row.get("note"):
        parts.append(str(row["note"]))
    return " · ".join(parts)
