"""History: every change to the annotations (who, when, what, old and new value), filterable by user, kind of
entity, field and date; editors undo a single change (the undo is itself a new change, nothing is erased)."""

from __future__ import annotations


import polars as pl
import streamlit as st

from dashboard import auth, data, editing, ui
from dashboard.safety import escape_markdown

KINDS = {"attack": "Attacks", "cluster": "Clusters", "mitigation": "Mitigations"}
LIMIT = 1000

filters, options = ui.page("History", "Every change analysts made to the analysis and the mitigation tracking, "
                                      "newest first. Not affected by the sidebar filters.")
editing.show_flash()

everything = data.history(limit=100_000)
if everything.height == 0:
    st.info("No annotation has been changed yet. Editors correct clusters on the Attack map and Priorities pages, "
            "attacks in the Explorer, and track mitigations on the Overview and Priorities pages.")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
users = sorted(everything["user"].drop_nulls().unique().to_list())
user = c1.selectbox("User", users, index=None, placeholder="Everyone", key="history_user")
kind = c2.selectbox("Changed", list(KINDS), index=None, format_func=KINDS.get, placeholder="Anything",
                    key="history_kind")
fields = sorted((everything if kind is None else everything.filter(pl.col("entity_kind") == kind))["field"]
                .drop_nulls().unique().to_list())
field = c3.selectbox("Field", fields, index=None, placeholder="Any field", key="history_field")
since = c4.date_input("Since", value=None, key="history_since")

changes = data.history(user=user, entity_kind=kind, field=field, limit=LIMIT,
                       since=since)  # a date: changes from its start (UTC)
st.dataframe(
    changes.select("change_id", "at", "user", "entity_kind", "entity_id", "field", "old_value", "new_value",
                   "undone_by", "source"),
    hide_index=True, key="history_table",
    column_config={"change_id": st.column_config.NumberColumn("change", format="%d"),
                   "entity_kind": st.column_config.TextColumn("kind"),
                   "entity_id": st.column_config.TextColumn("entity"),
                   "old_value": st.column_config.TextColumn("old value", width="medium"),
                   "new_value": st.column_config.TextColumn("new value", width="medium"),
                   "undone_by": st.column_config.NumberColumn("undone by change", format="%d")},
)
st.caption(f"{changes.height:,} changes shown (at most {LIMIT:,}, newest first) of {everything.height:,} · "
           f"times in UTC")

if auth.can_edit():
    undoable = changes.filter(pl.col("undone_by").is_null())
    st.subheader("Undo a change")
    if undoable.height == 0:
        st.info("No change shown above can be undone (each was already undone).")
    else:
        rows = {r["change_id"]: r for r in undoable.iter_rows(named=True)}
        change = st.selectbox(
            "Change", list(rows), index=None, placeholder="Choose a change to undo", key="history_undo_choice",
            format_func=lambda c: f"#{c} {rows[c]['entity_kind']} {rows[c]['entity_id']} · {rows[c]['field']}: "
                                  f"{rows[c]['old_value']} → {rows[c]['new_value']} ({rows[c]['user']})")
        if change is not None:
            st.caption(f"Restores the old value of {escape_markdown(rows[change]['field'])}; the undo is recorded as a "
                       "new change.")
            if st.button(f"Undo change #{change}", key="history_undo", icon=":material/undo:"):
                editing.apply(lambda: editing.undo(change), f"Change #{change} undone.")
