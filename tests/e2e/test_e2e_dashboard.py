"""The dashboard in a real browser: filters, map, transcript gate, CSV download, hostile text, screenshots.

Screenshots of every page go to tests/e2e/artifacts/ (git-ignored); look at them after a change to the layout.
"""

from __future__ import annotations

import csv
import io
import re
from contextlib import closing
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from sql.database import Queries, open_read_only
from tests.fixture_db import FORMULA_ID, XSS_ID

pytestmark = pytest.mark.e2e

PAGES = ("overview", "attack_map", "themes_models", "scaling_interventions", "priorities", "explorer", "data_runs")
N_FIXTURE = "482"
# Script-level things the hostile record would create if its text were ever rendered as HTML.
INJECTED = "img[src='x'], img[src$='x.png'], a[href^='javascript:']"


def settle(page) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_load_state("networkidle")
    page.locator("h1").first.wait_for(timeout=60_000)  # every page, and the sign-in form, has a title
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=60_000,
    )
    page.wait_for_timeout(300)


def shoot(page, artifacts: Path, name: str) -> None:
    """Screenshot of the whole page: the main area scrolls inside the app, so grow the viewport to fit it."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        "'[data-testid=\"stMain\"], [data-testid=\"stSidebarContent\"]')]"
        ".map(e => e.scrollHeight), 1000)")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / f"{name}.png"))
    page.set_viewport_size(size)


def metric(page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has_text=label).first
    return box.get_by_test_id("stMetricValue").inner_text().strip()


def pick(page, label: str, option: str, where=None) -> None:
    """Choose ``option`` in the multiselect or selectbox labelled ``label``."""
    root = where or page
    widget = root.locator("[data-testid='stMultiSelect'], [data-testid='stSelectbox']").filter(has_text=label).first
    widget.scroll_into_view_if_needed()
    opener = widget.get_by_role("button", name="Open")
    target = page.get_by_role("option", name=option, exact=True).first
    for _ in range(5):  # a click that lands while the app re-renders is lost; try again
        (opener if opener.count() else widget.locator("input").first).click()
        try:
            target.wait_for(timeout=3000)
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError; retried
            page.keyboard.press("Escape")
    target.click()
    if widget.get_attribute("data-testid") == "stMultiSelect":
        page.keyboard.press("Escape")  # a multiselect stays open; a selectbox would revert on Escape


def assert_inert(page) -> None:
    assert page.dialogs == [], f"a script ran: {page.dialogs}"
    assert page.locator(INJECTED).count() == 0


def test_dashboard_started_outside_the_repository_hides_the_developer_toolbar(page, server):
    # The server's working directory has no .streamlit/ (conftest): only the settings shipped with the package
    # apply. With Streamlit's defaults a localhost viewer would get the developer "Deploy" button.
    page.goto(server)
    settle(page)
    assert page.get_by_test_id("stMainMenu").count() == 1  # the toolbar itself is there
    assert page.get_by_test_id("stAppDeployButton").count() == 0
    assert page.get_by_role("button", name="Deploy").count() == 0


def test_overview_and_filters_change_the_numbers_and_the_url(page, server, artifacts):
    page.goto(server)
    settle(page)
    assert metric(page, "Attacks") == N_FIXTURE
    shoot(page, artifacts, "overview")
    sidebar = page.get_by_test_id("stSidebar")
    pick(page, "Model size", "52B", sidebar)
    settle(page)
    pick(page, "Intervention", "rlhf", sidebar)
    settle(page)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
                           ".some(e => e.innerText.trim() === '40')")
    assert metric(page, "Attacks") == "40"
    query = parse_qs(urlparse(page.url).query)
    assert query["model_sizes"] == ["52B"] and query["model_types"] == ["rlhf"]
    shoot(page, artifacts, "overview-filtered")
    # the filtered view survives a reload (and so can be shared as a link)
    page.reload()
    settle(page)
    assert metric(page, "Attacks") == "40"
    assert_inert(page)


def test_every_page_renders_with_a_screenshot(page, server, artifacts):
    for name in PAGES:
        page.goto(f"{server}/{name}" if name != "overview" else server)
        settle(page)
        assert page.get_by_test_id("stException").count() == 0, name
        assert page.locator("h1").first.inner_text().strip(), name
        shoot(page, artifacts, f"page-{name}")
        assert_inert(page)


def test_attack_map_cluster_opens_the_explorer(page, server, artifacts):
    page.goto(f"{server}/attack_map")
    settle(page)
    page.locator(".js-plotly-plot canvas").first.wait_for()
    pick(page, "Or choose a cluster", "0: misinformation how-to")
    settle(page)
    page.get_by_text("Selected attacks").wait_for()
    shoot(page, artifacts, "attack_map-cluster")
    page.get_by_role("button", name=re.compile(r"Open these 61 attacks in the explorer")).click()
    settle(page)
    page.get_by_text("Showing only the 61 attacks opened from the map").wait_for()
    assert "/explorer" in page.url
    assert_inert(page)


def test_map_hover_shows_hostile_text_as_text(page, server, artifacts):
    page.goto(f"{server}/attack_map?text=onerror")  # the hostile record alone, so the hover cannot pick another
    settle(page)
    page.locator(".js-plotly-plot canvas").first.wait_for()
    # screen position of the hostile record's point, from plotly's own axes
    pos = page.evaluate("""() => {
      const gd = document.querySelector('.js-plotly-plot'); const fl = gd._fullLayout;
      const r = gd.getBoundingClientRect();
      for (const tr of gd._fullData) {
        if (tr.type !== 'scattergl') continue;
        const i = Array.from(tr.text).findIndex(t => t.includes('onerror'));
        if (i >= 0) return {x: r.left + fl.xaxis._offset + fl.xaxis.l2p(tr.x[i]),
                            y: r.top + fl.yaxis._offset + fl.yaxis.l2p(tr.y[i])};
      }
    }""")
    page.mouse.move(pos["x"] - 40, pos["y"] - 40)
    page.mouse.move(pos["x"], pos["y"], steps=5)
    hover = page.locator(".hoverlayer .hovertext").first
    hover.wait_for()
    text = hover.text_content()
    assert "<script>alert(1)</script> <img src=x onerror=alert(1)>" in text  # shown literally
    assert "Misinformation & conspiracy theories" in text and "plain lm 52B" in text and "rating 4" in text
    shoot(page, artifacts, "attack_map-hover")
    assert_inert(page)


def test_attack_map_lasso_selection_lists_the_selected_attacks(page, server, artifacts):
    page.goto(f"{server}/attack_map")
    settle(page)
    plot = page.locator(".js-plotly-plot .nsewdrag").first
    plot.wait_for()
    box = plot.bounding_box()
    # lasso around the upper-left blob of points (the misinformation theme)
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    path = [(x0 + w * 0.02, y0 + h * 0.05), (x0 + w * 0.48, y0 + h * 0.05), (x0 + w * 0.48, y0 + h * 0.48),
            (x0 + w * 0.02, y0 + h * 0.48), (x0 + w * 0.02, y0 + h * 0.06)]
    page.mouse.move(*path[0])
    page.mouse.down()
    for x, y in path[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()
    settle(page)
    page.get_by_text("Selected attacks").wait_for()
    caption = page.get_by_text(re.compile(r"attacks selected on the map")).first.inner_text()
    assert int(re.search(r"([\d,]+) attacks selected", caption).group(1).replace(",", "")) > 0
    shoot(page, artifacts, "attack_map-lasso")
    assert_inert(page)


def test_transcript_opens_through_the_warning_gate_as_plain_text(page, server, artifacts):
    page.goto(f"{server}/explorer?attack={XSS_ID}")
    settle(page)
    page.get_by_text("Content warning").wait_for()
    assert page.get_by_test_id("stChatMessage").count() == 0  # hidden by default
    page.get_by_role("button", name="Show transcript").click()
    settle(page)
    messages = page.get_by_test_id("stChatMessage")
    messages.first.wait_for()
    assert messages.count() == 2
    human = messages.first.inner_text()
    assert "<img src=x onerror=alert(1)>" in human  # shown literally
    assert "**bold claim**" in human and "[click me](javascript:alert(1))" in human  # markdown not rendered
    assert "[email]" in human and "[phone]" in human and "jane.doe@example.com" not in human
    assert "<script>alert(1)</script>" in messages.nth(1).inner_text()
    shoot(page, artifacts, "explorer-transcript")
    assert_inert(page)


def test_csv_download_has_every_row_and_no_live_formulas(page, server, artifacts):
    page.goto(f"{server}/explorer")
    settle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name=re.compile(r"Download 482 rows as CSV")).click()
    path = info.value.path()
    text = Path(path).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == int(N_FIXTURE)
    formula = next(r for r in rows if r["attack_id"] == FORMULA_ID)
    assert formula["task_description"].startswith("'=HYPERLINK")
    assert formula["attack_text"].startswith("'+cmd")
    assert_inert(page)


def test_password_gate_in_the_browser(page, locked_server, artifacts):
    page.goto(f"{locked_server}/priorities")
    settle(page)
    assert page.get_by_text("Page not found").count() == 0  # deep links show the sign-in form
    assert page.get_by_test_id("stMetric").count() == 0 and page.get_by_test_id("stDataFrame").count() == 0
    assert page.get_by_test_id("stSidebarNav").count() == 0
    shoot(page, artifacts, "password-gate")
    field = page.get_by_label("Password", exact=True)
    field.fill("e2e-secret")
    page.get_by_role("button", name="Enter").click()
    settle(page)
    page.get_by_role("heading", name="Priorities").wait_for()  # the page that was asked for
    page.get_by_test_id("stDataFrame").first.wait_for()


def test_hostile_filter_text_in_a_shared_link_stays_text(page, server, artifacts):
    hostile = "![t](http://example.invalid/x.png) [x](javascript:alert(1))"
    page.goto(f"{server}/?{urlencode({'text': hostile})}")
    settle(page)
    page.get_by_text("No attacks match the current filters").wait_for()
    assert hostile[:39] in page.get_by_test_id("stAlert").filter(has_text="No attacks match").inner_text()
    assert_inert(page)


# page -> the one-line "why not" messages it must show on tool outputs (no model_type, rating, harmlessness)
TOOL_WHY_NOT = {
    "themes_models": ("Theme × model size per intervention is not shown", "--map model_type=COL"),
    "scaling_interventions": ("Harmlessness by size is not shown", "Intervention effects is not shown",
                              "--map harmlessness=COL"),
    "attack_map": ("Colouring by rating is not offered", "--map rating=COL"),
}


def test_every_page_works_on_tool_output_and_says_why_a_view_is_missing(page, tool_server, artifacts):
    for name in PAGES:
        page.goto(f"{tool_server}/{name}" if name != "overview" else tool_server)
        settle(page)
        for message in TOOL_WHY_NOT.get(name, ()):
            page.get_by_text(message).first.wait_for(timeout=30_000)
        if name != "data_runs":
            page.get_by_text(re.compile(r"^n = [\d,]+ attacks")).first.wait_for(timeout=30_000)
        assert page.get_by_test_id("stException").count() == 0, name
        assert page.get_by_test_id("stAlertContentError").count() == 0, name
        main = page.get_by_test_id("stMain").inner_text()
        assert "n = 0 attacks" not in main and "all models" not in main, name
        shoot(page, artifacts, f"tool-page-{name}")
        assert_inert(page)
    page.goto(f"{tool_server}/themes_models")
    settle(page)
    assert "Theme × model" in page.get_by_test_id("stMain").inner_text()
    # models, attack methods, campaigns, success bars; charts draw after the page settles, so wait for the 4th
    page.locator(".js-plotly-plot").nth(3).wait_for(timeout=30_000)


def test_tool_output_filters_by_source_category_and_review_state(page, tool_server, artifacts):
    page.goto(f"{tool_server}/?categories=Privacy&needs_review=false")
    settle(page)
    sidebar = page.get_by_test_id("stSidebar")
    assert "Privacy" in sidebar.get_by_test_id("stMultiSelect").filter(has_text="Source category").inner_text()
    caption = page.get_by_test_id("stMain").inner_text()
    assert "Source categories: Privacy; only confident themes" in caption
    assert metric(page, "Low-confidence themes") == "0.0%"
    shoot(page, artifacts, "tool-filtered")
    assert_inert(page)


def test_search_syntax_in_the_sidebar_and_a_similar_attack_opened_by_clicking_its_row(
        page, server, artifacts, e2e_db):
    with closing(open_read_only(e2e_db)) as con:
        nearest = Queries(con).similar("a00000", 1)["attack_id"][0]
    page.goto(f"{server}/explorer")
    settle(page)
    search = page.get_by_test_id("stSidebar").get_by_label("Search text", exact=True)
    search.fill('moon -"(#0)" "LANDING was"')
    search.press("Enter")
    settle(page)
    page.get_by_text(re.compile(r"^n = 47\b")).first.wait_for()  # the 48 moon-landing tasks but #0
    assert parse_qs(urlparse(page.url).query)["text"] == ['moon -"(#0)" "LANDING was"']
    page.reload()  # the search is in the link
    settle(page)
    page.get_by_text(re.compile(r"^n = 47\b")).first.wait_for()

    page.goto(f"{server}/explorer?attack=a00000")
    settle(page)
    page.get_by_text(re.compile(r"^Similar attacks \(10\)")).first.click()
    settle(page)
    grid = page.get_by_test_id("stDataFrame").filter(has_text="similarity").first
    grid.wait_for()
    shoot(page, artifacts, "explorer-similar")
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = grid.bounding_box()
    before = page.url
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection cell, under the header
    page.wait_for_function(f"() => window.location.href !== {before!r}", timeout=30_000)
    settle(page)
    assert parse_qs(urlparse(page.url).query)["attack"] == [nearest]
    page.get_by_text(re.compile(rf"^Task: .*\(#{int(nearest[1:])}\)$")).first.wait_for()  # its record is shown
    page.get_by_text(re.compile(r"^Similar attacks \(10\)")).first.wait_for()
    assert_inert(page)
