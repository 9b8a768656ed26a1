"""AppTest of the whole dashboard on the fixture database: every page, filters, URL state, access control."""

from __future__ import annotations

import json
import re
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from sql.database import Queries, open_read_only
from sql.filters import Filters
from tests.fixture_db import FORMULA_ID, XSS_ID

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TIMEOUT = 60

PAGES = {
    "overview": "Overview",
    "attack_map": "Attack map",
    "themes_models": "Themes × models",
    "scaling_interventions": "Scaling & interventions",
    "priorities": "Priorities",
    "explorer": "Explorer",
    "data_runs": "Data & runs",
    "history": "History",
}
NOT_FILTERED = ("data_runs", "history")  # pages the sidebar filters do not apply to
N_FIXTURE = 482  # 4 themes × 4 model types × 3 sizes × 10 + the two hostile records
N_RLHF_52B = 40


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def plain(markdown: str) -> str:
    """What markdown with backslash escapes displays as."""
    return re.sub(r"\\(.)", r"\1", markdown)


def texts(at) -> str:
    """Everything the page shows as text, markdown, caption or alert, joined (for "does it say X" checks)."""
    parts = [e.value for kind in ("text", "markdown", "caption", "info", "warning", "error", "success", "code")
             for e in at.get(kind)]
    return plain("\n".join(str(p) for p in parts))


def open_page(at, page: str):
    at.run()
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_without_errors(app, page):
    at = open_page(app(), page)
    assert [t.value for t in at.title] == [PAGES[page]]
    assert not at.error
    # every chart states n and the active filters
    if page not in NOT_FILTERED:
        assert any(c.value.startswith("n = ") and "All attacks" in c.value for c in at.caption)


def test_overview_headline_and_demo_banner(app):
    at = open_page(app(), "overview")
    assert metric(at, "Attacks") == f"{N_FIXTURE:,}"
    assert metric(at, "Themes") == "4"
    assert metric(at, "Clusters") == "8"
    assert "synthetic demo dataset" in texts(at)
    assert "20220402T000000-bbbbbb" in texts(at)  # provenance: the latest run id


def test_size_and_intervention_filters_change_the_numbers(app):
    at = open_page(app(), "overview")
    before_rate = metric(at, "Success rate")
    at.sidebar.multiselect(key="filter_model_sizes").select("52B")
    at.sidebar.multiselect(key="filter_model_types").select("rlhf")
    at.run()
    assert metric(at, "Attacks") == str(N_RLHF_52B)
    assert metric(at, "Success rate") != before_rate
    assert any("Model sizes: 52B; model types: rlhf" in plain(c.value) for c in at.caption)
    # and the URL mirrors the filters, so the view can be shared
    assert at.query_params["model_sizes"] == "52B"
    assert at.query_params["model_types"] == "rlhf"


def test_url_query_parameters_set_the_filters(app):
    at = open_page(app(model_sizes="52B", model_types="rlhf"), "overview")
    assert metric(at, "Attacks") == str(N_RLHF_52B)
    assert at.sidebar.multiselect(key="filter_model_sizes").value == ["52B"]
    assert at.sidebar.multiselect(key="filter_model_types").value == ["rlhf"]


def test_unknown_url_values_are_ignored_not_an_error(app):
    at = open_page(app(model_sizes=["52B", "<script>"], success_threshold="abc", cluster_ids="x"), "overview")
    assert metric(at, "Attacks") == "161"  # the 52B attacks (160 + the 52B hostile record); the rest is dropped
    assert at.sidebar.multiselect(key="filter_model_sizes").value == ["52B"]


def test_theme_pool_threshold_and_harmlessness_filters(app):
    at = open_page(app(), "overview")
    all_rate = metric(at, "Success rate")
    at.sidebar.slider(key="filter_success_threshold").set_value(1.0).run()
    assert float(metric(at, "Success rate").rstrip("%")) > float(all_rate.rstrip("%"))
    at.sidebar.slider(key="filter_success_threshold").set_value(3.0)
    at.sidebar.multiselect(key="filter_themes").select("digital_piracy_ip")
    at.run()
    assert metric(at, "Themes") == "1"
    at.sidebar.radio(key="filter_red_team_pool").set_value("mturk").run()
    n_mturk = int(metric(at, "Attacks").replace(",", ""))
    at.sidebar.radio(key="filter_red_team_pool").set_value("upwork").run()
    n_upwork = int(metric(at, "Attacks").replace(",", ""))
    assert n_mturk + n_upwork == 120 and n_mturk > 0 and n_upwork > 0
    assert at.query_params["red_team_pool"] == "upwork"


def test_filter_text_from_the_url_cannot_add_markdown_to_captions(app):
    hostile = "[x](javascript:alert(1)) ![t](/t.png) **b**"
    at = open_page(app(text=hostile), "overview")
    shown = [c.value for c in at.caption if "Search “" in plain(c.value)] + [i.value for i in at.info]
    assert shown
    for value in shown:
        assert hostile[:39] in plain(value)  # shown literally (describe() cuts it at 40 characters)
        assert "[x](" not in value and "![t](" not in value and "**b" not in value


def test_text_search_matching_nothing_shows_a_message_on_every_page(app):
    for page in PAGES:
        if page in NOT_FILTERED:
            continue
        at = open_page(app(text="no attack says this"), page)
        assert "No attacks match the current filters" in texts(at) or "No priority areas match" in texts(at), page


def test_search_syntax_round_trips_through_the_url(app, fixture_db):
    search = 'Moon -"(#0)" "LANDING  was"'
    with closing(open_read_only(fixture_db)) as con:
        want = Queries(con).count_attacks(Filters(text=search))
        typed = Queries(con).count_attacks(Filters(text='"please help" -sure'))
    assert 0 < want < N_FIXTURE and 0 < typed < N_FIXTURE and want != typed
    at = open_page(app(text=search), "overview")
    assert metric(at, "Attacks") == f"{want:,}"
    assert at.sidebar.text_input(key="filter_text").value == search
    assert at.query_params["text"] == search
    at.switch_page("app_pages/explorer.py").run()
    assert at.query_params["text"] == search and f"n = {want:,}" in texts(at)
    at.sidebar.text_input(key="filter_text").input('"please help" -sure').run()
    assert at.query_params["text"] == '"please help" -sure'
    # the URL alone (a shared link) gives the same view in a new session
    shared = open_page(app(text=at.query_params["text"]), "overview")
    assert metric(shared, "Attacks") == f"{typed:,}"
    assert shared.sidebar.text_input(key="filter_text").value == '"please help" -sure'


def test_a_search_with_too_many_terms_says_what_it_ignored(app):
    at = open_page(app(text=" ".join(f"w{i}" for i in range(40))), "overview")
    assert "The search uses its first 32 terms; 8 more were ignored." in texts(at)


def test_an_over_long_search_in_the_url_is_cut_not_an_error(app):
    at = open_page(app(text="moon " + "x" * 5000), "overview")
    assert len(at.sidebar.text_input(key="filter_text").value) == 200
    assert "No attacks match the current filters" in texts(at)
    assert at.query_params["text"] == at.sidebar.text_input(key="filter_text").value


def test_attack_map_cluster_choice_lists_attacks_and_opens_explorer(app):
    at = open_page(app(), "attack_map")
    at.selectbox(key="map_cluster").set_value(0).run()
    table = at.dataframe[0].value
    assert len(table) == 61 and set(table["theme"]) == {"Misinformation & conspiracy theories"}
    at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Explorer"]
    assert "Showing only the 61 attacks opened from the map" in texts(at)
    assert len(at.dataframe[0].value) == 25  # first page


def test_attack_map_draws_a_bounded_sample_with_the_true_counts(app, monkeypatch, fresh_resources):
    from dashboard import data

    monkeypatch.setattr(data, "MAP_MAX_POINTS", 100)  # the fixture's 482 attacks then need a sample
    at = open_page(app(), "attack_map")
    assert not at.exception
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert 90 <= sum(len(t["hovertext"]) for t in traces if t["type"] == "scattergl") <= 100  # a hover per point
    assert f"of {N_FIXTURE:,} attacks" in texts(at) and "every cluster is represented" in texts(at)
    at.radio(key="map_layer").set_value("density").run()  # every attack counted per cell
    assert not at.exception
    assert [c.proto.id for c in at.get("plotly_chart")] and "heatmap" in at.get("plotly_chart")[0].proto.spec
    at.radio(key="map_layer").set_value("points").run()
    at.selectbox(key="map_cluster").set_value(0).run()  # one cluster in detail: all of its 61 attacks fit
    assert len(at.dataframe[0].value) == 61 and "61 attacks in cluster 0" in texts(at)


def test_attack_map_region_requeries_the_attacks_inside_it(app):
    at = open_page(app(), "attack_map")
    x_slider = at.slider(key="map_x_range")
    low, high = x_slider.min, x_slider.max
    x_slider.set_value((low, (low + high) / 2)).run()
    assert not at.exception
    caption = next(c.value for c in at.caption if c.value.startswith("n = "))
    inside = int(caption.split()[2].replace(",", ""))
    assert 0 < inside < N_FIXTURE


def test_attack_map_of_a_single_attack_renders(app):
    at = open_page(app(text="onerror"), "attack_map")  # one attack: its extent is a point, nothing to zoom
    assert not at.exception and at.get("plotly_chart")


def table(at, key: str):
    """The value of the dataframe with ``key``."""
    return next(d.value for d in at.dataframe if d.key == key)


def test_attack_map_selection_offers_similar_attacks(app, fixture_db):
    with closing(open_read_only(fixture_db)) as con:
        q = Queries(con)
        cluster = tuple(q.map_points(Filters()).filter(pl.col("cluster_id") == 0)["attack_id"].to_list())
        want = q.similar_to_selection(cluster, 20)["attack_id"].to_list()
    assert len(want) == 20 and not set(want) & set(cluster)
    at = open_page(app(), "attack_map")
    at.selectbox(key="map_cluster").set_value(0).run()
    at.toggle(key="map_similar").set_value(True).run()
    assert not at.exception
    shown = next(d.value for d in at.dataframe if "similarity" in d.value.columns)  # a plain table has no key
    assert list(shown["attack_id"]) == want and list(shown["similarity"]) == sorted(shown["similarity"], reverse=True)
    at.button(key="map_similar_open").click().run()
    assert [t.value for t in at.title] == ["Explorer"]
    assert "Showing only the 20 attacks opened from the map" in texts(at)
    assert sorted(at.dataframe[0].value["attack_id"]) == sorted(want)


def test_explorer_lists_similar_attacks_and_opens_one(app, fixture_db):
    with closing(open_read_only(fixture_db)) as con:
        want = Queries(con).similar("a00000", 10)
        task = dict(zip(want["attack_id"], want["task_description"]))
    at = open_page(app(attack="a00000"), "explorer")
    shown = table(at, "explorer_similar_0")
    assert list(shown["attack_id"]) == want["attack_id"].to_list() and "a00000" not in set(shown["attack_id"])
    assert any(e.label.startswith("Similar attacks (10)") for e in at.expander)
    target = want["attack_id"][3]
    at.selectbox(key="explorer_similar_pick_0").set_value(target).run()
    assert not at.exception
    assert at.query_params["attack"] == target
    assert at.selectbox(key=f"explorer_open_1_").value == target
    assert f"Task: {task[target]}" in [t.value for t in at.text]
    assert target not in set(table(at, "explorer_similar_1")["attack_id"])


def test_map_colour_modes_render(app):
    at = open_page(app(), "attack_map")
    for mode in ("theme", "cluster", "harmlessness", "success", "rating"):
        at.radio(key="map_color").set_value(mode).run()
        assert not at.exception, mode


def test_priority_weights_rerank_live(app):
    at = open_page(app(), "priorities")
    top = at.dataframe[0].value["area"].iloc[0]
    assert top == "Misinformation & conspiracy theories"
    for name in ("success", "volume", "resistance"):
        at.slider(key=f"w_{name}").set_value(0.0)
    at.slider(key="w_severity").set_value(1.0)
    at.run()
    assert at.dataframe[0].value["area"].iloc[0] == "Violence & incitement"  # severity 5 in the fixture
    assert "ranks above" in texts(at)


def test_priority_weights_all_zero_fall_back_with_a_warning(app):
    at = open_page(app(), "priorities")
    for name in ("success", "volume", "severity", "resistance"):
        at.slider(key=f"w_{name}").set_value(0.0)
    at.run()
    assert not at.exception
    assert "using the default weights" in texts(at)


def test_explorer_transcript_is_gated_plain_text_and_masked(app):
    at = open_page(app(attack=XSS_ID), "explorer")
    assert at.query_params["attack"] == XSS_ID
    assert "Content warning" in texts(at)
    assert not at.chat_message  # hidden by default
    at.button(key="reveal_button").click().run()
    assert len(at.chat_message) == 2
    shown = [t.value for t in at.text]
    assert any("<img src=x onerror=alert(1)>" in t for t in shown)  # literally, as text
    assert any("[email]" in t and "[phone]" in t for t in shown)
    assert not any("jane.doe@example.com" in t for t in shown)
    # no markdown or HTML element ever carries the record's text
    assert not any("onerror" in m.value or "<script" in m.value or "click me" in m.value for m in at.markdown)
    at.toggle(key="explorer_mask").set_value(False).run()
    assert any("jane.doe@example.com" in t.value for t in at.text)


def test_explorer_paging_and_sort(app):
    at = open_page(app(), "explorer")
    at.selectbox(key="explorer_page_size").set_value(50)
    at.selectbox(key="explorer_sort").set_value("rating")
    at.toggle(key="explorer_desc").set_value(True)
    at.run()
    first = at.dataframe[0].value
    assert len(first) == 50 and first["rating"].iloc[0] == 4.0
    at.number_input(key="explorer_page").set_value(10).run()
    last = at.dataframe[0].value
    assert len(last) == N_FIXTURE - 9 * 50
    assert not set(last["attack_id"]) & set(first["attack_id"])


def test_explorer_formula_record_is_listed(app):
    at = open_page(app(text="HYPERLINK"), "explorer")
    assert list(at.dataframe[0].value["attack_id"]) == [FORMULA_ID]


def test_data_and_runs_page_lists_history_rejections_and_taxonomy(app):
    at = open_page(app(), "data_runs")
    values = [d.value for d in at.dataframe]
    assert any(len(v) == 2 and "run_id" in v.columns for v in values)
    assert any("reason" in v.columns and "rating 7 is outside 0–4" in set(v["reason"]) for v in values)
    assert any("severity" in v.columns and len(v) == 5 for v in values)


def test_password_gate_hides_everything_until_the_right_password(app, monkeypatch, fresh_resources):
    monkeypatch.setenv("REDTEAM_RISK_PASSWORD", "correct horse")
    at = app()
    at.run()
    assert not at.exception
    assert not at.metric and not at.dataframe and not at.get("plotly_chart") and not at.download_button
    assert not at.sidebar.multiselect  # no filter options (they come from the database)
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "Wrong password" in texts(at)
    assert not at.metric
    at.text_input[0].input("correct horse")
    at.button[0].click().run()
    assert metric(at, "Attacks") == f"{N_FIXTURE:,}"
    assert not any("correct horse" in str(v) for v in at.session_state.to_dict().values())


def test_password_attempts_are_rate_limited(app, monkeypatch, fresh_resources):
    monkeypatch.setenv("REDTEAM_RISK_PASSWORD", "correct horse")
    at = app()
    at.run()
    for _ in range(5):
        at.text_input[0].input("nope")
        at.button[0].click().run()
    at.text_input[0].input("correct horse")
    at.button[0].click().run()
    assert "Too many wrong passwords" in texts(at)
    assert not at.metric


@pytest.mark.parametrize("problem", ["unset", "missing", "not_duckdb", "wrong_schema"])
def test_missing_or_unreadable_database_explains_how_to_build_one(app, monkeypatch, tmp_path, problem, fresh_resources):
    if problem == "unset":
        monkeypatch.delenv("REDTEAM_RISK_DB")
    else:
        path = tmp_path / "risk.duckdb"
        if problem == "not_duckdb":
            path.write_bytes(b"this is not a database" * 100)
        elif problem == "wrong_schema":
            import duckdb

            con = duckdb.connect(str(path))
            con.execute("create table unrelated (x int)")
            con.close()
        monkeypatch.setenv("REDTEAM_RISK_DB", str(path))
    at = app()
    at.run()
    assert not at.exception
    assert at.error and "redteam-risk etl" in plain(at.error[0].value)
    assert not at.metric



def test_oidc_login_is_required_when_auth_is_configured(app, fresh_resources):
    at = app()
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "https://id.example.invalid/.well-known/openid-configuration"}
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.metric and not at.dataframe
    at.user = {"is_logged_in": True, "email": "analyst@example.org"}
    at.run()
    assert metric(at, "Attacks") == f"{N_FIXTURE:,}"
    assert any("analyst@example.org" in plain(c.value) for c in at.sidebar.caption)


@pytest.mark.parametrize("page", ["explorer", "attack_map"])
def test_a_page_run_on_its_own_shows_nothing_while_a_password_is_set(fixture_db, monkeypatch, page, fresh_resources):
    """Second lock: even if Streamlit ran a page file directly (outside app.py's navigation), it stops."""
    monkeypatch.setenv("REDTEAM_RISK_DB", str(fixture_db))
    monkeypatch.setenv("REDTEAM_RISK_PASSWORD", "correct horse")
    at = AppTest.from_file(str(APP.parent / "app_pages" / f"{page}.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert not at.dataframe and not at.get("plotly_chart") and not at.text and not at.download_button


def test_no_pages_folder_beside_the_entry_script():
    """A `pages/` folder next to app.py makes Streamlit run page files without app.py (and its access control)."""
    assert not (APP.parent / "pages").exists()


def test_a_broken_secrets_file_keeps_the_dashboard_locked(app, monkeypatch, tmp_path, fresh_resources):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('password = "abc\n[[[')
    monkeypatch.chdir(tmp_path)
    at = app()
    at.run()
    assert not at.exception
    assert at.error and "cannot be parsed" in plain(at.error[0].value)
    assert not at.metric and not at.dataframe


@pytest.mark.parametrize("page", ["overview", "priorities"])
def test_report_download_buttons_offer_every_format(app, page):
    at = open_page(app(), page)
    assert not at.exception
    buttons = at.get("download_button")
    labels = {b.proto.label for b in buttons}
    assert {"PDF", "HTML (offline)", "Excel", "CSV (attacks)", "Markdown"} <= labels


def test_pdf_button_is_disabled_with_the_reason_when_the_machine_has_no_font(app, monkeypatch):
    # Building the PDF without any font would crash the whole server (WeasyPrint segfaults), not one session.
    from dashboard.reports import fonts
    from etl import system_packages

    monkeypatch.setattr(system_packages, "font_families", lambda: set())
    at = open_page(app(), "overview")
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    assert buttons["PDF"].disabled
    assert fonts.NO_FONTS in buttons["PDF"].help
    assert not any(buttons[label].disabled for label in ("HTML (offline)", "Excel", "CSV (attacks)", "Markdown"))
    assert f"PDF unavailable: {fonts.NO_FONTS}" in texts(at)


def test_pdf_button_is_enabled_when_fonts_and_a_browser_are_there(app, monkeypatch):
    from dashboard.reports import images
    from etl import system_packages

    monkeypatch.setattr(system_packages, "font_families", lambda: {"DejaVu Sans"})
    monkeypatch.setattr(images, "find_browser", lambda: "/usr/bin/chromium")
    at = open_page(app(), "priorities")
    pdf = next(b.proto for b in at.get("download_button") if b.proto.label == "PDF")
    assert not pdf.disabled
    assert "unavailable" not in texts(at)


def test_created_day_range_filters_and_round_trips_through_the_url(app, fixture_db):
    with closing(open_read_only(fixture_db)) as con:
        want = Queries(con).count_attacks(Filters(created_from="2022-04-03", created_to="2022-04-05"))
    at = open_page(app(created_from="2022-04-03", created_to="2022-04-05"), "overview")
    assert 0 < want < N_FIXTURE and metric(at, "Attacks") == f"{want:,}"
    picker = at.sidebar.date_input(key="filter_created")
    assert [d.isoformat() for d in picker.value] == ["2022-04-03", "2022-04-05"]
    assert any("2022-04-03" in plain(c.value) for c in at.caption)  # the caption names the range
    picker.set_value((picker.value[0], picker.value[0])).run()  # one day only
    assert at.query_params["created_from"] == at.query_params["created_to"] == "2022-04-03"
    assert int(metric(at, "Attacks").replace(",", "")) < want
    at.sidebar.button[0].click().run()  # Reset filters
    assert metric(at, "Attacks") == f"{N_FIXTURE:,}" and "created_from" not in at.query_params


def test_a_bad_created_date_in_the_url_is_ignored_not_an_error(app):
    at = open_page(app(created_from="2022-13-40", created_to="<b>x</b>"), "overview")
    assert not at.exception and metric(at, "Attacks") == f"{N_FIXTURE:,}"
