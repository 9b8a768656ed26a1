"""Reports: every format shows the dashboard's numbers, renders, and keeps hostile text inert.

The fixture is the dashboard's (``fixture_db.make_tables``) plus hostile records in the top-ranked theme:
HTML/JS payloads, spreadsheet formulas, an RTL override, CJK text, an emoji, an e-mail and a phone number,
in attack text, a cluster label, a model name and the top theme's display name. Each format is built once
per module (the PDF costs a few seconds: a headless browser draws the charts).
"""

from __future__ import annotations

import html.parser
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from markupsafe import Markup
from polars.testing import assert_frame_equal

from dashboard.reports import FORMATS, build_report, build_report_bytes, fonts, images, pdf, unavailable
from dashboard.reports.content import as_weights, figures, gather
from dashboard.reports.markdown import escape as md_escape
from dashboard.reports.text import fmt_num, fmt_pct, readable
from etl import metrics, system_packages
from etl.errors import UserError
from sql.filters import Filters
from tests.fixture_db import make_tables, write_db
from tests.system_packages import require

TOP_THEME = "misinformation_conspiracy"
TOP_NAME = "Misinformation 日本語 🔥 & <b>conspiracy</b>"
PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '=HYPERLINK("http://x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "payload\u202egnp.exe",
    "日本語のテキスト 🔥",
)
CONTACT = "write to jane.doe@example.com or call +1 (555) 010-9999"
CLUSTER_LABEL = '=HYPERLINK("http://x") <img src=x onerror=alert(1)> \u202egnp.exe'
HOSTILE_MODEL = "+cmd|' /C calc'!A0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADINGS = ("Data snapshot", "Contents", "Executive summary", "Charts", "Priority areas", "Theme metrics",
            "Cluster metrics", "Where mitigation fails", "Methodology and caveats", "Appendix: representative attacks")


def _hostile_tables() -> dict[str, pl.DataFrame]:
    tables = make_tables()
    attacks = tables["attacks"]
    template = attacks.filter((pl.col("theme") == TOP_THEME) & (pl.col("cluster_id") == 0)).row(0, named=True)
    extra = []
    for i, payload in enumerate(PAYLOADS):
        row = dict(template)
        row.update(attack_id=f"hostile-{i}", source_row=10_000 + i, task_description=f"{payload} {CONTACT}",
                   attack_text=payload, model=HOSTILE_MODEL if i == 0 else row["model"], rating=4.0, success=True,
                   harmlessness=-3.0, red_team_member_id=payload, cluster_label=CLUSTER_LABEL)
        extra.append(row)
    attacks = pl.concat([attacks, pl.DataFrame(extra, schema=attacks.schema)])
    attacks = attacks.with_columns(
        pl.when(pl.col("cluster_id") == 0).then(pl.lit(CLUSTER_LABEL)).otherwise(pl.col("cluster_label"))
        .alias("cluster_label"))
    hostile_ids = [f"hostile-{i}" for i in range(len(PAYLOADS))]
    clusters = tables["clusters"].with_columns(
        pl.when(pl.col("cluster_id") == 0).then(pl.lit(CLUSTER_LABEL)).otherwise(pl.col("label")).alias("label"),
        pl.when(pl.col("cluster_id") == 0).then(pl.lit(hostile_ids[:3])).otherwise(pl.col("representative_ids"))
        .alias("representative_ids"),
        pl.when(pl.col("cluster_id") == 0).then(pl.col("n_attacks") + len(PAYLOADS)).otherwise(pl.col("n_attacks"))
        .alias("n_attacks"),
    )
    themes = tables["themes"].with_columns(
        pl.when(pl.col("theme") == TOP_THEME).then(pl.lit(TOP_NAME)).otherwise(pl.col("display_name"))
        .alias("display_name"))
    return {**tables, "attacks": attacks, "clusters": clusters, "themes": themes}


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "risk.duckdb"
    return write_db(path, _hostile_tables())


@pytest.fixture(scope="module")
def con(db_path: Path):
    connection = duckdb.connect(str(db_path), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def dashboard_data(db_path: Path):
    """``dashboard.data`` pointed at the fixture database (its functions read ``$REDTEAM_RISK_DB``)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("REDTEAM_RISK_DB", str(db_path))
    from dashboard import data

    yield data
    mp.undo()


needs_browser = pytest.mark.system_packages("chromium")


@pytest.fixture(scope="module")
def reports(con) -> dict[str, bytes]:
    """Every format except PDF, for all attacks."""
    return {fmt: build_report_bytes(con, Filters(), fmt) for fmt in FORMATS if fmt != "pdf"}


@pytest.fixture(scope="module")
def pdf_text(con, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    require("chromium", "poppler-utils")
    out = build_report(con, Filters(), "pdf", tmp_path_factory.mktemp("pdf") / "report.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True).stdout
    return text.decode("utf-8"), out


# --- the same numbers as the dashboard ----------------------------------------------------------------

FILTER_CASES = [
    Filters(),
    Filters(model_types=("rlhf", "plain lm"), model_sizes=("52B",)),
    Filters(themes=(TOP_THEME, "privacy_pii"), success_threshold=2),
    Filters(text='help -"can\'t" "here is"'),
]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=["all", "rlhf-plain-52B", "two-themes-threshold-2", "search"])
def test_report_numbers_equal_the_dashboard_queries(con, dashboard_data, filters):
    content = gather(con, filters, with_charts=True)
    data = dashboard_data
    for name, frame in [("theme_metrics", content.theme_metrics), ("cluster_metrics", content.cluster_metrics),
                        ("scaling_metrics", content.scaling), ("intervention_effects", content.intervention_effects)]:
        assert_frame_equal(frame, data.view(name, filters), check_dtypes=False)
    assert content.overall == data.overall(filters)
    assert_frame_equal(content.priority, data.priority_areas(filters, metrics.Weights()), check_dtypes=False)
    mine = content.theme_by_model_type.sort("theme", "model_type")
    theirs = data.theme_by_model_type(filters).sort("theme", "model_type")
    assert_frame_equal(mine.select(theirs.columns), theirs, check_dtypes=False)
    assert content.n_attacks == data.count_attacks(filters)
    assert_frame_equal(content.map_points, data.map_points(filters))


def test_every_format_shows_the_top_area_numbers(con, dashboard_data, reports):
    top = dashboard_data.priority_areas(Filters(), metrics.Weights()).sort("rank").row(0, named=True)
    assert top["theme"] == TOP_THEME
    rate, score = fmt_pct(top["success_rate"]), fmt_num(top["score"], 2)
    page = reports["html"].decode()
    assert rate in page and f"score {score}" in page
    markdown = reports["md"].decode()
    assert rate.replace("\xa0", " ") in markdown and f"score {score}" in markdown
    book = openpyxl.load_workbook(io.BytesIO(reports["xlsx"]))
    sheet = book["Priority areas"]
    header = [cell.value for cell in sheet[1]]
    first = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert first["theme"] == TOP_THEME
    assert first["score"] == pytest.approx(top["score"], rel=1e-12)
    assert first["success_rate"] == pytest.approx(top["success_rate"], rel=1e-12)


def test_xlsx_metric_sheets_equal_the_dashboard_views(dashboard_data, reports):
    book = openpyxl.load_workbook(io.BytesIO(reports["xlsx"]))
    expected = dashboard_data.view("theme_metrics", Filters()).sort("theme")
    rows = list(book["Theme metrics"].iter_rows(values_only=True))
    sheet = pl.DataFrame(rows[1:], schema=list(rows[0]), orient="row").sort("theme")
    for col in ("n_attacks", "success_rate", "success_ci_low", "success_ci_high", "mean_rating", "mean_harmlessness"):
        assert sheet[col].to_list() == pytest.approx(expected[col].to_list(), rel=1e-12), col


def test_csv_is_the_dashboard_csv_download(con, dashboard_data):
    filters = Filters(model_types=("plain lm",))
    assert build_report_bytes(con, filters, "csv") == dashboard_data.export_csv(filters)


def test_weights_change_the_ranking_like_the_dashboard(con, dashboard_data):
    weights = {"success": 0, "volume": 1, "severity": 3, "resistance": 0}
    content = gather(con, Filters(), weights=weights, with_charts=False)
    theirs = dashboard_data.priority_areas(Filters(), metrics.Weights(**weights))
    assert content.priority["theme"].to_list() == theirs.sort("rank")["theme"].to_list()
    assert content.priority["theme"][0] == "violence_incitement"  # severity 5 dominates


# --- PDF -------------------------------------------------------------------------------------------------


@needs_browser
def test_pdf_has_sections_toc_page_numbers_and_the_top_theme(pdf_text):
    text, path = pdf_text
    assert path.read_bytes().startswith(b"%PDF-")
    for heading in HEADINGS:
        assert heading in text, heading
    assert "Misinformation 日本語" in text  # the top theme's name, CJK included
    pages = int(re.search(r"Page 1 of (\d+)", text).group(1))
    assert pages >= 5
    toc = re.search(r"Executive summary\s*\.{3,}\s*(\d+)", text)
    assert toc and 2 <= int(toc.group(1)) <= pages
    assert "Demo data." in text


@pytest.mark.system_packages("chromium", "poppler-utils", "fonts-noto-cjk", "fonts-noto-color-emoji")
def test_pdf_embeds_cjk_and_emoji_fonts(pdf_text):
    text, path = pdf_text
    assert "Missing fonts" not in text
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    assert "CJK" in fonts and "Emoji" in fonts


@needs_browser
def test_pdf_shows_hostile_text_as_text_and_masks_contacts(pdf_text):
    text, _ = pdf_text
    flat = " ".join(text.split())
    assert "<script>alert(1)</script>" in flat  # escaped markup prints as its characters
    assert "⟨U+202E⟩" in flat  # the RTL override is shown, not obeyed
    assert "jane.doe@example.com" not in flat and "[email]" in flat
    assert "010-9999" not in flat


def test_pdf_without_a_browser_says_how_to_fix_it(con, monkeypatch):
    monkeypatch.setattr(system_packages, "font_families", lambda: {"DejaVu Sans"})  # the font check comes first
    monkeypatch.setattr(images, "find_browser", lambda: None)
    monkeypatch.setattr(images, "_started", False)
    with pytest.raises(UserError, match="apt-get install chromium"):
        build_report_bytes(con, Filters(), "pdf")


def test_unshown_scripts_are_those_in_the_text_whose_font_is_missing():
    def packages(text, families):
        return [s.package for s in fonts.unshown_scripts(text, families)]

    assert packages("Misinformation 日本語 🔥", {"DejaVu Sans"}) == ["fonts-noto-cjk", "fonts-noto-color-emoji"]
    assert packages("日本語 🔥", {"DejaVu Sans", "Noto Sans CJK JP"}) == ["fonts-noto-color-emoji"]
    assert packages("한국어 and 中文", {"Noto Color Emoji"}) == ["fonts-noto-cjk"]
    assert packages("plain Latin – é ✓ \u202e", set()) == []  # nothing to show, nothing to say
    assert packages("日本語 🔥", {"Noto Sans CJK SC", "Noto Color Emoji"}) == []


@pytest.mark.system_packages("poppler-utils", "fonts-dejavu-core")  # WeasyPrint really needs one font
def test_pdf_without_cjk_and_emoji_fonts_renders_and_names_what_it_cannot_show(con, monkeypatch, tmp_path):
    # The font check answers "only DejaVu"; charts are left out so no browser is needed (they have no CJK text).
    # tests/dashboard run once with FONTCONFIG_FILE limited to DejaVu showed the same notice and no failure.
    monkeypatch.setattr(system_packages, "font_families", lambda: {"DejaVu Sans", "DejaVu Sans Mono"})
    monkeypatch.setattr(images, "require_browser", lambda: None)
    monkeypatch.setattr(pdf, "chart_image", lambda fig: Markup(""))
    out = build_report(con, Filters(), "pdf", tmp_path / "report.pdf")
    text = " ".join(subprocess.run(["pdftotext", str(out), "-"], check=True, capture_output=True,
                                   text=True).stdout.split())
    assert "Missing fonts." in text
    assert "cannot show Chinese, Japanese and Korean text or emoji" in text
    assert "apt-get install fonts-noto-cjk fonts-noto-color" in text  # pdftotext may join "-emoji" at a line end
    assert "Executive summary" in text and "Appendix: representative attacks" in text


def test_pdf_with_no_font_at_all_fails_in_one_line_instead_of_crashing(db_path, tmp_path):
    # An empty fontconfig is a slim container: WeasyPrint would die with SIGSEGV inside Pango.
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig></fontconfig>\n')
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    repo = Path(__file__).resolve().parents[2]

    def report(fmt):
        return subprocess.run([sys.executable, "-m", "etl.cli", "-q", "report", "--db", str(db_path), "--format", fmt,
                               "--out", str(tmp_path)], cwd=repo, env=env, capture_output=True, text=True, timeout=300)

    failed = report("pdf")
    assert failed.returncode == 2, failed.stderr[-2000:]
    assert failed.stderr.strip().splitlines() == [f"error: {fonts.NO_FONTS}"]
    assert "apt-get install fonts-dejavu-core" in fonts.NO_FONTS
    assert not (tmp_path / "redteam-risk-report.pdf").exists()
    worked = report("md")  # the other formats need no font
    assert worked.returncode == 0, worked.stderr[-2000:]
    assert "Executive summary" in (tmp_path / "redteam-risk-report.md").read_text(encoding="utf-8")


def test_unavailable_says_why_a_pdf_cannot_be_built_here(monkeypatch):
    monkeypatch.setattr(system_packages, "font_families", lambda: set())
    assert unavailable("pdf") == fonts.NO_FONTS
    assert all(unavailable(fmt) is None for fmt in FORMATS if fmt != "pdf")
    monkeypatch.setattr(system_packages, "font_families", lambda: {"DejaVu Sans"})
    monkeypatch.setattr(images, "find_browser", lambda: None)
    monkeypatch.setattr(images, "_started", False)
    assert "apt-get install chromium" in unavailable("pdf")
    monkeypatch.setattr(images, "find_browser", lambda: "/usr/bin/chromium")
    assert unavailable("pdf") is None


# --- HTML ------------------------------------------------------------------------------------------------


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _outside_bundle(page: str) -> str:
    return re.sub(r'<script id="plotlyjs"[^>]*>.*?</script>', "", page, count=1, flags=re.DOTALL)


def test_html_embeds_plotly_once_and_references_nothing_remote(reports):
    from plotly.offline import get_plotlyjs

    page = reports["html"].decode()
    assert page.count(get_plotlyjs()[:2000]) == 1
    assert page.count('<script id="plotlyjs"') == 1
    rest = _outside_bundle(page)
    assert len(rest) < len(page) / 2  # the bundle was found and removed
    for pattern in ('src="http', "src='http", 'href="http', "href='http", "@import", "url(http", "//cdn"):
        assert pattern not in rest, pattern
    assert "mathjax" not in rest.lower()
    assert "Content-Security-Policy" in rest and "connect-src 'none'" in rest


def test_html_escapes_hostile_text(reports):
    page = reports["html"].decode()
    rest = _outside_bundle(page)
    assert "<script>alert(1)" not in rest and "<img src=x" not in rest and "<b>conspiracy" not in rest
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rest
    assert "jane.doe@example.com" not in rest
    parser = _Elements()
    parser.feed(rest)
    assert not [t for t, a in parser.tags if t == "img"]
    assert all(not k.startswith("on") for _, attrs in parser.tags for k in attrs)
    nonce = re.search(r"'nonce-([^']+)'", rest).group(1)
    scripts = [a for t, a in parser.tags if t == "script"]
    assert scripts and all(a.get("nonce") == nonce for a in scripts)


@pytest.mark.e2e
def test_html_loads_offline_in_chromium_without_requests_or_dialogs(reports, tmp_path):
    require("chromium")
    chromium = Path(shutil.which("chromium"))
    sync_api = pytest.importorskip("playwright.sync_api")
    path = tmp_path / "report.html"
    path.write_bytes(reports["html"])
    requests: list[str] = []
    blocked: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        try:
            page = browser.new_page()

            def route(r):
                requests.append(r.request.url)
                if r.request.url.startswith(("file://", "data:", "blob:")):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.plot .main-svg').length >= 4", timeout=30_000)
            page.locator("details summary").click()  # open the appendix: hostile examples become visible
            page.wait_for_timeout(300)
            n_plots = page.evaluate("document.querySelectorAll('.plot').length")
            drawn = page.evaluate(
                "[...document.querySelectorAll('.plot')].filter(d => d.querySelector('.main-svg')).length")
            appendix = page.inner_text("#appendix")
        finally:
            browser.close()
    assert blocked == []
    assert all(u.startswith(("file://", "data:", "blob:")) for u in requests)
    assert dialogs == []
    assert errors == []
    assert n_plots == drawn >= 4
    assert "<script>alert(1)</script>" in appendix


# --- XLSX / CSV / Markdown -------------------------------------------------------------------------------


def test_xlsx_has_no_formulas_and_neutralises_formula_text(reports):
    raw = reports["xlsx"]
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        assert not any("<f>" in z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/"))
    book = openpyxl.load_workbook(io.BytesIO(raw))
    assert {"About", "Priority areas", "Theme metrics", "Cluster metrics", "Intervention effects",
            "Attacks"} <= set(book.sheetnames)
    strings = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
                if isinstance(cell.value, str):
                    strings.append(cell.value)
                    assert not cell.value.startswith(FORMULA_START), (sheet.title, cell.coordinate, cell.value)
    assert "'" + '=HYPERLINK("http://x")' in strings
    assert "'+cmd|' /C calc'!A0" in strings and "'@SUM(1)" in strings and "'\t=1+1" in strings
    assert "日本語のテキスト 🔥" in strings
    attacks = book["Attacks"]
    assert attacks.max_row - 1 == _n_attacks(reports)


def _n_attacks(reports) -> int:
    return pl.read_csv(io.BytesIO(reports["csv"]), infer_schema=False).height


def test_csv_neutralises_formulas(reports):
    frame = pl.read_csv(io.BytesIO(reports["csv"]), infer_schema=False)
    for col in frame.columns:
        for value in frame[col].drop_nulls().to_list():
            if re.fullmatch(r"-?\d+(\.\d+)?", value):
                continue  # a number, not text
            assert not value.lstrip("\ufeff").startswith(FORMULA_START), (col, value)
    assert "'" + '=HYPERLINK("http://x") ' + CONTACT in frame["task_description"].to_list()


def test_markdown_escapes_hostile_text_and_keeps_tables_intact(reports):
    text = reports["md"].decode()
    body = re.sub(r"^> ", "", text, flags=re.MULTILINE)  # our own block quote (the demo notice)
    assert not re.search(r"(?<!\\)[<>]", body)  # every angle bracket in data text is escaped
    assert "\\<b\\>conspiracy\\</b\\>" in text
    assert "Misinformation 日本語 🔥" in text
    for block in re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.MULTILINE):
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in block.splitlines()}
        assert len(widths) == 1, block  # every row has as many cells as the header


def test_markdown_escape():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("<script>") == "\\<script\\>"
    assert md_escape("**x** [y](z)") == "\\*\\*x\\*\\* \\[y\\](z)"
    assert md_escape("- item\nnext") == "\\- item next"
    assert md_escape("1. x") == "1\\. x" and md_escape("0.75") == "0.75" and md_escape("-0.5") == "-0.5"
    assert md_escape("see http://x") == "see http\\://x"


def test_readable_masks_contacts_and_shows_bidi_controls():
    text = readable(f"abc\u202e {CONTACT}", mask=True)
    assert "\u202e" not in text and "⟨U+202E⟩" in text
    assert "jane.doe@example.com" not in text and "555" not in text
    assert readable("x" * 50, 10) == "x" * 9 + "…"


# --- empty selections, arguments -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["html", "md", "xlsx", "csv"])
def test_empty_selection_yields_a_short_report_that_says_so(con, fmt):
    data = build_report_bytes(con, Filters(themes=("no-such-theme",)), fmt)
    if fmt in ("html", "md"):
        text = data.decode()
        assert "No attacks match these filters" in text
        assert "Executive summary" not in text
        assert len(text) < 20_000
    elif fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(data))
        notes = [row[1] for row in book["About"].iter_rows(values_only=True)]
        assert any("No attacks match" in str(n) for n in notes)
        assert book["Attacks"].max_row == 1
    else:
        assert pl.read_csv(io.BytesIO(data)).height == 0


@pytest.mark.system_packages("chromium", "poppler-utils")
def test_empty_selection_pdf(con, tmp_path):
    out = build_report(con, Filters(models=("nobody",)), "pdf", tmp_path)
    assert out == tmp_path / "redteam-risk-report.pdf"
    text = subprocess.run(["pdftotext", str(out), "-"], check=True, capture_output=True, text=True).stdout
    assert "No attacks match these filters" in text and "Appendix" not in text


def test_build_report_rejects_bad_arguments(con, tmp_path):
    with pytest.raises(UserError, match="unknown report format"):
        build_report(con, Filters(), "docx", tmp_path / "r.docx")
    with pytest.raises(UserError, match="between 1 and"):
        build_report_bytes(con, Filters(), "md", top=0)
    with pytest.raises(UserError, match="does not exist"):
        build_report(con, Filters(), "md", tmp_path / "missing" / "r.md")
    with pytest.raises(UserError, match="unknown priority weight"):
        as_weights({"speed": 1})
    with pytest.raises(UserError):
        as_weights({"success": -1})


def test_build_report_writes_the_file_and_top_limits_the_summary(con, tmp_path):
    out = build_report(con, Filters(), "markdown", tmp_path / "r.md", top=2)
    text = out.read_text(encoding="utf-8")
    assert re.search(r"^1\\\. \*\*", text, flags=re.MULTILINE) and re.search(r"^2\\\. \*\*", text, flags=re.MULTILINE)
    assert not re.search(r"^3\\\. \*\*", text, flags=re.MULTILINE)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary file left behind


def test_a_database_path_works_like_a_connection(con, db_path, tmp_path):
    def body(data: bytes) -> str:
        return re.sub(r"(Generated|generated) \d{4}-\d\d-\d\d \d\d:\d\d( UTC)?", "", data.decode())

    assert body(build_report_bytes(db_path, Filters(), "md")) == body(build_report_bytes(con, Filters(), "md"))
    with pytest.raises(UserError, match="does not exist"):
        build_report_bytes(db_path.with_name("missing.duckdb"), Filters(), "md")
    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database", encoding="utf-8")
    with pytest.raises(UserError, match="not a readable DuckDB database"):
        build_report_bytes(bad, Filters(), "md")


def test_report_charts_carry_their_own_template(con, dashboard_data):
    import plotly.io as pio

    assert pio.templates.default  # dashboard.data (Streamlit) is imported: its template may be the default
    figs = figures(gather(con, Filters()))
    assert {f.key for f in figs} == {"priority", "heatmap", "scaling", "effects", "map"}
    for f in figs:
        template = f.figure.to_dict()["layout"]["template"]["layout"]
        assert template["yaxis"]["automargin"] is True, f.key  # axis labels are not cut off


def test_reports_of_tool_output_name_models_and_warn_about_low_confidence_areas(tool_db):
    """Data without the paper's grid: the reports name target models, give success instead of a rating and
    carry the low-confidence share and warning the dashboard shows."""
    with duckdb.connect(str(tool_db), read_only=True) as tool:
        content = gather(tool, None, top=4, with_charts=True)
        md = build_report_bytes(tool, None, "md", top=4).decode("utf-8")
        html_text = build_report_bytes(tool, None, "html", top=4).decode("utf-8")
        xlsx = build_report_bytes(tool, None, "xlsx", top=4)
    shaky = content.priority.filter(pl.col("needs_review_share") > metrics.LOW_CONFIDENCE_SHARE)
    assert shaky.height >= 1
    name = shaky["display_name"][0]
    for text in (md, html_text):
        assert "Low\\-confidence themes" in text or "Low-confidence themes" in text
        assert "rest mostly on low\\-confidence themes" in text or "rest mostly on low-confidence themes" in text
        assert "all models" not in text
    assert "succeeded" in md and "no rating" not in md  # examples give the success flag
    keys = {f.key: f.title for f in figures(content)}
    assert keys["heatmap"] == "Success rate by theme and model" and "effects" not in keys
    header = [cell.value for cell in openpyxl.load_workbook(io.BytesIO(xlsx))["Priority areas"][1]]
    assert "needs_review_share" in header
    assert name in md.replace("\\", "")
