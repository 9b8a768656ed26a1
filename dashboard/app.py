"""Entry point: ``streamlit run dashboard/app.py`` with ``REDTEAM_RISK_DB`` set (``redteam-risk dashboard``).

``run()`` checks access, opens the database, draws the global filters in the sidebar and hands over to
the page chosen in ``st.navigation`` (one file per page in ``app_pages/``). Nothing is read from the database
before access control has passed, and a missing database shows how to build one instead of a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script by `streamlit run`: make the repo importable
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)

import streamlit as st

from dashboard import auth, data, ui
from dashboard import filters as filters_ui
from dashboard.safety import escape_markdown

# Not "pages/": Streamlit treats a pages/ folder beside the entry script as an old-style multipage app and, on
# a process's first run (and on every AppTest run), executes a requested page directly, skipping run() and
# with it access control.
PAGES_DIR = Path(__file__).resolve().parent / "app_pages"
# file, title, icon; the first is the default page
PAGES = (
    ("overview.py", "Overview", ":material/dashboard:"),
    ("attack_map.py", "Attack map", ":material/scatter_plot:"),
    ("themes_models.py", "Themes × models", ":material/grid_on:"),
    ("scaling_interventions.py", "Scaling & interventions", ":material/trending_down:"),
    ("priorities.py", "Priorities", ":material/priority_high:"),
    ("compare.py", "Compare", ":material/compare_arrows:"),
    ("explorer.py", "Explorer", ":material/table_rows:"),
    ("data_runs.py", "Data & runs", ":material/database:"),
    ("history.py", "History", ":material/history:"),
)


def _placeholder() -> None:
    """Every page's stand-in while the session is locked or there is no database: what run() drew is all."""


def _hold(title: str) -> None:
    # Same URLs as the real pages, so a deep link (/explorer?attack=…) shows the sign-in form and, once signed
    # in, the page that was asked for, never a "page not found".
    st.navigation(
        [st.Page(_placeholder, title=title, url_path=Path(f).stem, default=k == 0)
         for k, (f, _, _) in enumerate(PAGES)],
        position="hidden",
    ).run()


def run() -> None:
    st.set_page_config(page_title="Red-team risk", page_icon=":material/shield:", layout="wide")
    if not auth.require_access():
        _hold("Sign in")
        return
    try:
        data.check()
        options = data.filter_options()
    except data.DatabaseUnavailable as exc:
        st.title("Red-team risk dashboard")
        st.error(escape_markdown(exc))
        _hold("No database")
        return
    ui.mark_allowed()
    run_info = data.latest_run() or {}
    if run_info.get("is_demo"):
        st.sidebar.warning("Synthetic demo data, not real red-team results.", icon=":material/science:")
    filters_ui.sidebar(options)
    page = st.navigation([st.Page(PAGES_DIR / f, title=t, icon=i, default=k == 0) for k, (f, t, i) in enumerate(PAGES)])
    st.sidebar.caption(f"Database: {escape_markdown(data.database_label())}")
    st.sidebar.caption(f"Signed in as {auth.role_label()}")
    try:
        page.run()
    except data.DatabaseUnavailable as exc:  # the file vanished while the page ran
        st.error(escape_markdown(exc))


if __name__ == "__main__":
    run()
