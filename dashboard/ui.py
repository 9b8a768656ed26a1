"""Small pieces every page uses: the page guard, captions that state n and the active filters, empty states."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data
from dashboard import filters as filters_ui
from dashboard.safety import escape_markdown
from sql.filters import Filters

_ALLOWED = "_redteam_risk_allowed"


def mark_allowed() -> None:
    """Called by app.py once the session passed access control and the database opened."""
    st.session_state[_ALLOWED] = True


def page(title: str, intro: str | None = None) -> tuple[Filters, data.FilterOptions]:
    """Start a page: guard, title, intro. Returns the active filters and the filter options."""
    # Pages only run through app.py's st.navigation, after the gate; this is the second lock.
    if not st.session_state.get(_ALLOWED):
        try:
            locked = auth.access_configured()
        except auth.AccessConfigError:
            locked = True
        if locked:
            st.stop()
    st.title(title)
    if intro:
        st.caption(intro)
    return filters_ui.current(), data.filter_options()


# corrected_counts key -> (one, many)
CORRECTION_WORDS = {"theme": ("theme", "themes"), "success": ("success verdict", "success verdicts"),
                    "cluster": ("attack in a corrected cluster", "attacks in corrected clusters")}


def corrections_note(filters: Filters) -> str:
    """How many values in scope are analyst-corrected (``data.corrected_counts``), e.g. "analyst-corrected:
    20 themes, 5 success verdicts; 2 attacks excluded by analysts", or "" when none is."""
    counts = data.corrected_counts(filters)
    parts = [f"{counts[k]:,} {one if counts[k] == 1 else many}" for k, (one, many) in CORRECTION_WORDS.items()
             if counts.get(k)]
    excluded = counts.get("excluded") or 0
    if not parts and not excluded:
        return ""
    text = "analyst-corrected: " + (", ".join(parts) or "none")
    if excluded:
        text += f"; {excluded:,} attack{'s' if excluded != 1 else ''} excluded by analysts"
    return text


def scope_line(n: int, filters: Filters, options: data.FilterOptions, unit: str = "attacks") -> str:
    """``n = … · <active filters>[ · analyst-corrected: …]``, markdown-escaped (filter values come from the URL
    and the data)."""
    line = f"n = {n:,} {unit} · {escape_markdown(filters_ui.describe(filters, options))}"
    note = corrections_note(filters)
    return f"{line} · {note}" if note else line


def caption(n: int, filters: Filters, options: data.FilterOptions, unit: str = "attacks") -> None:
    """The line under every chart: its n and the active filters."""
    st.caption(scope_line(n, filters, options, unit))


def why_not(view: str, reason: str, enable: str) -> None:
    """One line where a view cannot apply to this data: what is missing and which column or ``--map`` enables
    it, e.g. ``why_not("Intervention effects", "this data names no intervention", "a model_type column
    (--map model_type=COL)")``. The arguments are the page's own text, not data."""
    st.info(f"**{view}** is not shown: {reason}. It needs {enable}.", icon=":material/info:")


def empty(filters: Filters, options: data.FilterOptions, what: str = "attacks") -> None:
    st.info(f"No {what} match the current filters ({escape_markdown(filters_ui.describe(filters, options))}). "
            "Widen or reset the filters in the sidebar.")


def report_downloads(filters: Filters, weights=None, compare=None) -> None:
    """One download button per report format, built on click for the current filters (and priority weights);
    ``compare``: (scope A, scope B, pair_on) adds the Compare page's comparison (the CSV is then its table).

    The report is built by ``dashboard.reports`` from the same queries and figures as these pages; the callable
    runs outside the script thread, so it opens the database by path rather than using this session's cursor.
    """
    import functools

    from dashboard.reports import FORMATS, build_report_bytes, unavailable

    st.subheader("Download a report")
    extra = (" and the weights on this page" if weights is not None else "") + (
        " and this comparison" if compare is not None else "")
    st.caption(f"Stakeholder report of the attacks in scope, with the filters above{extra}.")
    path = data.current().path
    labels = {"pdf": "PDF", "html": "HTML (offline)", "xlsx": "Excel",
              "csv": "CSV (comparison)" if compare is not None else "CSV (attacks)", "md": "Markdown"}
    problems = {fmt: unavailable(fmt) for fmt in labels}  # e.g. no font: a PDF would crash the server
    for col, fmt in zip(st.columns(len(labels)), labels):
        ext, mime = FORMATS[fmt]
        col.download_button(
            labels[fmt],
            data=functools.partial(build_report_bytes, path, filters, fmt, weights=weights, compare=compare),
            file_name=f"redteam-risk-report{ext}",
            mime=mime,
            key=f"report-{fmt}",
            on_click="ignore",
            icon=":material/download:",
            disabled=problems[fmt] is not None,
            help=problems[fmt],
        )
    for fmt, problem in problems.items():
        if problem:
            st.caption(f"{labels[fmt]} unavailable: {problem}")  # our own sentence, not data
