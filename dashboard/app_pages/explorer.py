"""Explorer: a paged table of the attacks in scope, one transcript at a time behind a content warning, CSV export;
editors correct one attack (theme, success verdict, exclusion, note), the rows ticked in the table, or every attack in
view at once.

Attack text is untrusted: it is shown only through ``st.text`` and ``st.dataframe`` (plain text), never as
markdown or HTML.
"""

from __future__ import annotations

import math

import streamlit as st

from dashboard import data, editing, ui
from dashboard.safety import escape_markdown, mask_pii

IDS_KEY = "explorer_ids"  # set by the attack map: show only these attacks
ATTACK_PARAM = "attack"  # URL query parameter of the open transcript
PAGE_SIZES = (25, 50, 100, 250)
SORT_LABELS = {"source_row": "input order", "rating": "rating", "harmlessness": "harmlessness", "theme": "theme",
               "theme_confidence": "theme confidence", "model": "model"}
SOURCE_WORDS = {"model": "the model", "source": "the source's own category", "analyst": "an analyst"}
N_SIMILAR = 10  # similar attacks listed under an open attack
JUMP = "explorer_jump"  # session key: bumped when a similar attack is opened, so the table and picker start afresh
SIMILAR_COLUMNS = ("similarity", "attack_id", "theme", "model", "rating", "success", "task_description")


def _open_attack(attack_id: str) -> None:
    """Open ``attack_id`` (a similar attack): the URL names it, the table's row choice and the picker reset."""
    st.query_params[ATTACK_PARAM] = attack_id
    st.session_state[JUMP] = st.session_state.get(JUMP, 0) + 1


def _on_similar_row(key: str, ids: list[str]) -> None:
    rows = st.session_state[key].selection.rows
    if rows:
        _open_attack(ids[rows[0]])


def _on_similar_pick(key: str) -> None:
    if st.session_state.get(key):
        _open_attack(st.session_state[key])

filters, options = ui.page("Explorer", "Every attack under the filters. Choose one to read its transcript.")
editing.show_flash()

ids = st.session_state.get(IDS_KEY)
if ids is not None:
    note, clear = st.columns([4, 1])
    note.info(f"Showing only the {len(ids):,} attacks opened from the map "
              f"({escape_markdown(st.session_state.get('explorer_ids_label', 'a selection'))}).")
    if clear.button("Show all attacks in scope"):
        st.session_state.pop(IDS_KEY, None)
        st.rerun()

total = data.count_attacks(filters, ids)
if total == 0:
    ui.empty(filters, options)
    st.stop()

c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
page_size = c1.selectbox("Rows per page", PAGE_SIZES, key="explorer_page_size")
# Columns (and sort keys) the data has no value for are left out: tool outputs have no rating, intervention…
absent = {"rating": not options.has_rating, "harmlessness": options.harmlessness_range is None,
          "model_type": not options.has_model_types, "model_size": not options.has_sizes,
          "is_upworker": not options.has_pools, "category": not options.categories,
          "attack_method": not options.attack_methods, "campaign": not options.campaigns}
sort_keys = tuple(k for k in SORT_LABELS if not absent.get(k))
sort = c2.selectbox("Sort by", sort_keys, format_func=SORT_LABELS.get, key="explorer_sort")
descending = c3.toggle("Descending", key="explorer_desc")
n_pages = max(1, math.ceil(total / page_size))
page_no = c4.number_input(f"Page (of {n_pages:,})", min_value=1, max_value=n_pages, step=1, key="explorer_page")
page_no = min(int(page_no), n_pages)

rows = data.attacks_page(filters, page_size, (page_no - 1) * page_size, sort, descending, ids=ids)
jump = st.session_state.get(JUMP, 0)
event = st.dataframe(
    rows.select([c for c in rows.columns if not absent.get(c)]), hide_index=True, on_select="rerun",
    selection_mode="multi-row", key=f"explorer_table_{jump}",
    column_config={"theme_confidence": st.column_config.NumberColumn("theme confidence", format="percent"),
                   "theme_source": st.column_config.TextColumn("theme from"),
                   "needs_review": st.column_config.CheckboxColumn("needs review")},
)
ui.caption(total, filters, options)

selected = event.selection.rows if event else []
picked = rows["attack_id"][selected[-1]] if selected else None  # the transcript of the last row ticked
from_url = st.query_params.get(ATTACK_PARAM)
page_ids = rows["attack_id"].to_list()
choices = page_ids if from_url is None or from_url in page_ids else [from_url, *page_ids]
default = picked or from_url
attack_id = st.selectbox("Open transcript", choices, index=choices.index(default) if default in choices else None,
                         key=f"explorer_open_{jump}_{picked or ''}", placeholder="Choose an attack (or click a row)")

st.download_button(
    f"Download {total:,} rows as CSV", data=lambda: data.export_csv(filters, ids), file_name="attacks.csv",
    mime="text/csv", on_click="ignore", icon=":material/download:", key="explorer_download",
)

if selected:  # the rows ticked on this page, else every attack in view
    chosen_ids = [rows["attack_id"][i] for i in selected]
    editing.bulk_form(lambda: chosen_ids, len(chosen_ids), options, "ticked in the table")
else:
    editing.bulk_form(lambda: data.attacks_page(filters, total, 0, ids=ids)["attack_id"].to_list(), total, options)

if attack_id is None:
    if ATTACK_PARAM in st.query_params:
        del st.query_params[ATTACK_PARAM]
    st.stop()

st.query_params[ATTACK_PARAM] = attack_id
record = data.attack(attack_id)
if record is None:
    st.warning("That attack is not in this database.")
    st.stop()

st.subheader("Transcript")
meta = st.columns(4)
meta[0].text(f"Theme: {options.themes.get(record['theme'], record['theme'])}")
meta[1].text(f"Model: {record['model']}")
if record["rating"] is not None or record["success"] is None:
    meta[2].text(f"Rating: {record['rating'] if record['rating'] is not None else 'n/a'}")
else:
    meta[2].text(f"Success: {'yes' if record['success'] else 'no'}")
meta[3].text(f"Harmlessness: {record['harmlessness'] if record['harmlessness'] is not None else 'n/a'}")
confidence = record.get("theme_confidence")
provenance = [f"Theme confidence: {'n/a' if confidence is None else f'{confidence:.0%}'}",
              f"decided by {SOURCE_WORDS.get(record.get('theme_source'), record.get('theme_source') or 'unknown')}"]
if record.get("needs_review"):
    provenance.append("needs review (a low-confidence guess)")
if record.get("category"):
    provenance.append(f"source category: {record['category']}")
if record.get("attack_method"):
    provenance.append(f"attack method: {record['attack_method']}")
st.text(" · ".join(provenance))
st.text(f"Task: {record['task_description'] or ''}")
corrected = editing.correction_line(attack_id, options)
if corrected:
    st.text(corrected)
editing.attack_form(attack_id, options)

similar = data.similar(attack_id, N_SIMILAR)
with st.expander(f"Similar attacks ({similar.height})", icon=":material/join_inner:"):
    if similar.height == 0:
        st.caption("No similar attacks: this database stores no embedding for this attack. Rebuild it with "
                   "`redteam-risk etl` to get them.")
    else:
        st.caption("The nearest attacks by cosine similarity of their sentence embeddings (higher = closer in "
                   "meaning; 1 = the same embedding), from the whole database, whatever the filters. Click a row "
                   "to open it.")
        similar_ids = similar["attack_id"].to_list()
        table_key = f"explorer_similar_{jump}"
        st.dataframe(
            similar.select([c for c in SIMILAR_COLUMNS if not absent.get(c)]), hide_index=True, key=table_key,
            on_select=lambda: _on_similar_row(table_key, similar_ids), selection_mode="single-row",
            column_config={"similarity": st.column_config.NumberColumn("similarity", format="%.3f")},
        )
        pick_key = f"explorer_similar_pick_{jump}"
        by_id = dict(zip(similar_ids, similar["task_description"].to_list()))
        st.selectbox("Open a similar attack", similar_ids, index=None, key=pick_key,
                     on_change=_on_similar_pick, args=(pick_key,), placeholder="Choose a similar attack",
                     format_func=lambda a: f"{a}: {(by_id.get(a) or '')[:80]}")

reveal_key = f"reveal_{attack_id}"
if not st.session_state.get(reveal_key):
    st.warning("Content warning: red-team transcripts can contain offensive, violent, sexual or otherwise harmful "
               "text.", icon=":material/warning:")
    if st.button("Show transcript", key="reveal_button"):
        st.session_state[reveal_key] = True
        st.rerun()
    st.stop()

mask = st.toggle("Mask e-mail addresses and phone numbers", value=True, key="explorer_mask")
turns = data.turns(attack_id)
if turns.height == 0:
    pairs = [("human", record["attack_text"] or ""), ("assistant", record["response"] or "")]
    pairs = [p for p in pairs if p[1]]
else:
    pairs = list(zip(turns["speaker"].to_list(), turns["text"].to_list()))
with st.container(border=True, key="transcript"):
    for speaker, text in pairs:
        with st.chat_message("user" if speaker == "human" else "assistant"):
            st.text(mask_pii(text) if mask else text)
    if st.button("Hide transcript", key="hide_button"):
        st.session_state[reveal_key] = False
        st.rerun()
