"""AppTest of the Compare page: A and B from the URL, the numbers equal the report's comparison section (one
``Queries.compare`` call), empty scopes explained, newly succeeding transcripts shown as text."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.reports import build_report_bytes
from dashboard.reports.comparison import comparison_frame
from sql.compare import compare
from sql.database import open_read_only
from sql.filters import Filters
from tests import fixture_db as F
from tests.dashboard.test_dashboard_app import open_page, texts

PAGE = "compare"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_page_shows_the_reports_numbers(app, fixture_db):
    at = open_page(app(cmp_by="model_types", cmp_a="plain lm", cmp_b="rlhf"), PAGE)
    assert [t.value for t in at.title] == ["Compare"]
    a, b = Filters(model_types=("plain lm",)), Filters(model_types=("rlhf",))
    con = open_read_only(fixture_db)
    try:
        want = compare(con, a, b)
    finally:
        con.close()
    o = want.overall()
    assert metric(at, "Success in A") == f"{o['success_rate_a']:.1%}"
    assert metric(at, "Success in B") == f"{o['success_rate_b']:.1%}"
    assert metric(at, "Change B − A") == f"{o['difference'] * 100:+.1f} pp"
    assert metric(at, "Verdict") == "Better in B"
    table = at.dataframe[0].value  # the theme table
    page_rows = {r["group_name"]: r for r in table.to_dict("records")}
    for r in want.grain("theme").iter_rows(named=True):
        assert page_rows[r["group_name"]]["difference_ci_low_adjusted"] == pytest.approx(r["difference_ci_low_adjusted"])
        assert page_rows[r["group_name"]]["change"] == r["change"]
    # the report's CSV comparison (what the page's CSV button downloads) has the same numbers
    csv = build_report_bytes(fixture_db, Filters(), "csv", compare=(a, b, "attack_text"))
    rows = pl.read_csv(csv).filter(pl.col("grain") == "theme")
    frame = comparison_frame(want).filter(pl.col("grain") == "theme")
    assert sorted(rows["difference_ci_high_adjusted"].to_list()) == pytest.approx(
        sorted(frame["difference_ci_high_adjusted"].to_list()))
    md = build_report_bytes(fixture_db, Filters(), "md", compare=(a, b, "attack_text")).decode()
    assert f"{o['n_success_a']} / {o['n_judged_a']}" in md and "## Comparison: success by theme" in md
    # the choice is in the URL, so the view can be shared
    url = {k: v if isinstance(v, str) else list(v) for k, v in at.query_params.items()}
    assert url["cmp_by"] in ("model_types", ["model_types"]) and url["cmp_b"] in ("rlhf", ["rlhf"])


def test_empty_scope_is_explained_not_zero(app):
    # the sidebar's filters apply to both scopes: a theme filter that B's models lack leaves B empty
    at = open_page(app(cmp_by="models", cmp_a="plain lm 52B", cmp_b="rlhf 52B", text="no such words anywhere"), PAGE)
    shown = texts(at)
    assert "Scope A has no attacks" in shown and "Scope B has no attacks" in shown
    assert not at.metric


def test_newly_succeeding_transcripts_are_text(tmp_path, monkeypatch):
    """Paired data: the newly succeeding attack's transcripts in A and B, HTML shown as text."""
    from tests.dashboard.conftest import _app_factory

    rows = []
    for k, (before, after) in enumerate([(False, True), (True, True), (False, False), (True, False)] * 5):
        for model, ok in (("m-1", before), ("m-2", after)):
            i = len(rows)
            text = f"<b>attack {k}</b> <script>alert(1)</script>"
            rows.append(F.grid_attack(i, "rlhf", "52B", 52.0, 4.0 if ok else 0.0, 0.0, "privacy_pii", model=model,
                                      attack_text=text, task_description=f"task {k}", is_duplicate=False,
                                      cluster_id=0, cluster_label="c0", x=0.0, y=0.0,
                                      transcript=f"\n\nHuman: {text}\n\nAssistant: {'ok' if ok else 'no'}"))
    path = F.build_db(tmp_path / "pairs.duckdb", F.attacks_frame(rows))
    at = open_page(_app_factory(path, monkeypatch)(cmp_by="models", cmp_a="m-1", cmp_b="m-2"), PAGE)
    assert "5 newly succeed** in B, **5 newly fail**" in texts(at)
    assert "Scope A has only 20 attacks" in texts(at)  # tiny scopes are said to be tiny
    at.selectbox(key="cmp_open").select_index(0).run()
    at.button(key="cmp_reveal_button").click().run()
    assert not at.exception
    shown = [t.value for t in at.text]
    assert any("<script>alert(1)</script>" in t for t in shown)  # st.text: shown literally, never rendered
    assert not any("<script>" in m.value for m in at.markdown)


def test_html_report_has_the_comparison_chart_and_tables(fixture_db):
    a, b = Filters(model_types=("rlhf",)), Filters(model_types=("plain lm",))
    html = build_report_bytes(fixture_db, Filters(), "html", compare=(a, b, "attack_text")).decode()
    assert 'id="fig-comparison"' in html and 'id="compare-themes"' in html and 'id="compare-weaknesses"' in html
    assert "Regression" in html  # plain LM is worse than RLHF in the fixture


def test_comparison_chart_escapes_names_and_draws_both_intervals():
    from dashboard.charts import comparison_chart

    rows = pl.DataFrame({
        "group_name": ["<img src=x onerror=alert(1)>", "Safe theme", "Not compared"],
        "difference": [0.2, -0.1, None], "difference_ci_low": [0.1, -0.2, None], "difference_ci_high": [0.3, 0.0, None],
        "difference_ci_low_adjusted": [0.05, -0.25, None], "difference_ci_high_adjusted": [0.35, 0.05, None],
        "change": ["regression", "no clear change", "not compared"], "success_rate_a": [0.1, 0.3, None],
        "success_rate_b": [0.3, 0.2, None], "n_judged_a": [50, 60, 0], "n_judged_b": [50, 60, 3],
    })
    fig = comparison_chart(rows)
    ys = [y for trace in fig.data for y in trace.y]
    assert "&lt;img src=x onerror=alert(1)&gt;" in ys and not any("<img" in y for y in ys)
    assert "Not compared" not in ys
    named = {t.name for t in fig.data}
    assert {"regression", "no clear change"} <= named
    regression = next(t for t in fig.data if t.name == "regression")
    assert regression.error_x.array[0] == pytest.approx(0.1)  # the 95 % interval, thick
    thin = next(t for t in fig.data if t.showlegend is False and t.x[0] == pytest.approx(0.2))
    assert thin.error_x.arrayminus[0] == pytest.approx(0.15)  # the adjusted interval


def test_default_scopes_and_switching_the_axis(app):
    at = open_page(app(), PAGE)
    assert at.selectbox(key="cmp_by").value == "models"  # the fixture has no campaigns
    assert len(at.multiselect(key="cmp_a").value) == 1 and len(at.multiselect(key="cmp_b").value) == 1
    at.selectbox(key="cmp_by").set_value("model_sizes").run()
    assert not at.exception
    assert at.multiselect(key="cmp_a").value == ["2.7B"] and at.multiselect(key="cmp_b").value == ["13B"]
    assert metric(at, "Verdict") in ("Worse in B", "Better in B", "No clear change")
    at.multiselect(key="cmp_b").set_value([]).run()
    assert "Pick at least one value for A and one for B." in texts(at)


def test_date_range_axis_compares_two_created_at_ranges(app, fixture_db):
    """The fixture's attacks are created an hour apart from 2022-04-01: A and B are two ranges of days."""
    at = open_page(app(cmp_by="created", cmp_a=["2022-04-01", "2022-04-02"], cmp_b=["2022-04-03", "2022-04-30"]),
                   PAGE)
    assert not at.exception
    assert at.selectbox(key="cmp_by").value == "created"
    a = Filters(created_from="2022-04-01", created_to="2022-04-02")
    b = Filters(created_from="2022-04-03", created_to="2022-04-30")
    con = open_read_only(fixture_db)
    try:
        want = compare(con, a, b).overall()
    finally:
        con.close()
    assert want["n_attacks_a"] > 0 and want["n_attacks_b"] > 0
    assert metric(at, "Success in A") == f"{want['success_rate_a']:.1%}"
    assert metric(at, "Success in B") == f"{want['success_rate_b']:.1%}"
    captions = " ".join(c.value for c in at.caption).replace("\\", "")  # escaped markdown
    assert "A: Created 2022-04-01 to 2022-04-02 · B: Created 2022-04-03 to 2022-04-30" in captions


def test_build_axis_compares_two_kept_builds_like_the_cli(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from etl.cli import app as cli
    from tests.dashboard.conftest import _app_factory
    from tests.sql.test_compare_runs import build_three_runs

    db = build_three_runs(tmp_path / "risk.duckdb")
    at = open_page(_app_factory(db, monkeypatch)(cmp_by="build", cmp_a="run-1", cmp_b="run-3"), PAGE)
    assert not at.exception
    assert at.selectbox(key="cmp_a_build").value == "run-1" and at.selectbox(key="cmp_b_build").value == "run-3"
    out = CliRunner().invoke(cli, ["--quiet", "compare", "--db", str(db), "--a", "", "--b", "", "--run-a", "run-1",
                                   "--format", "json"])
    assert out.exit_code == 0, out.output
    cli_json = json.loads(out.stdout)
    paired = next(p for p in cli_json["paired"] if p["grain"] == "all")
    overall = next(g for g in cli_json["groups"] if g["grain"] == "all")
    assert metric(at, "Success in A") == f"{overall['success_rate_a']:.1%}"
    assert metric(at, "Success in B") == f"{overall['success_rate_b']:.1%}"
    assert (f"{paired['n_newly_succeeding']:,} newly succeed** in B, **{paired['n_newly_failing']:,} newly fail**"
            in texts(at))
    assert "Clusters" not in [o for r in at.radio if r.key == "cmp_grain" for o in r.options]
    at.selectbox(key="cmp_b_build").set_value("run-1").run()
    assert "Pick two different builds." in texts(at)
