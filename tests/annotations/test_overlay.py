"""Corrections applied at query time (annotations/overlay.py, the source_attacks CTE): every metric, the priority
ranking and the reports use them; the numbers are recounted here from the raw rows."""

from __future__ import annotations

import io

import openpyxl
import polars as pl

from annotations.store import AnnotationStore
from dashboard.reports import render
from dashboard.reports.content import gather
from sql.database import Queries, open_read_only
from sql.filters import Filters
from tests.annotations.conftest import raw

HOSTILE_NOTE = "=HYPERLINK(\"http://evil.example\") <script>alert(1)</script> | **x** [y](javascript:z)"


def _attacks(db) -> pl.DataFrame:
    rows = raw(db, "select attack_id, theme, success, is_duplicate, cluster_id, rating from attacks")
    return pl.DataFrame(rows, orient="row", schema=["attack_id", "theme", "success", "is_duplicate", "cluster_id",
                                                    "rating"])


def _expected(frame: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """theme -> (attacks, successes), duplicates left out, as the metric views count."""
    counted = frame.filter(~pl.col("is_duplicate")).group_by("theme").agg(
        pl.len().alias("n"), pl.col("success").fill_null(False).sum().alias("s"))
    return {r["theme"]: (r["n"], r["s"]) for r in counted.iter_rows(named=True)}


def _ranked(q: Queries) -> dict[str, tuple[int, int, int]]:
    return {r["theme"]: (r["n_attacks"], r["n_success"], r["rank"])
            for r in q.priority_areas(Filters()).iter_rows(named=True)}


def test_theme_and_success_corrections_change_metrics_and_ranking(db):
    q = Queries(open_read_only(db))
    before = _ranked(q)
    assert before["digital_piracy_ip"][2] > 1  # a low-priority theme to lift
    store = AnnotationStore.for_database(db)
    frame = _attacks(db)
    movers = frame.filter((pl.col("theme") == "misinformation_conspiracy") & ~pl.col("is_duplicate")).head(20)
    store.set_attack_theme(movers["attack_id"].to_list(), "violence_incitement", user="ana")
    piracy = frame.filter(pl.col("theme") == "digital_piracy_ip")["attack_id"].to_list()
    store.set_attack_success(piracy, True, user="ana")

    q.refresh_annotations()
    assert q.annotations_version() == store.version() > 0
    corrected = frame.with_columns(
        pl.when(pl.col("attack_id").is_in(movers["attack_id"].to_list())).then(pl.lit("violence_incitement"))
        .otherwise(pl.col("theme")).alias("theme"),
        pl.when(pl.col("attack_id").is_in(piracy)).then(True).otherwise(pl.col("success")).alias("success"))
    after = _ranked(q)
    for theme, (n, s) in _expected(corrected).items():
        assert after[theme][:2] == (n, s), theme
    assert after["digital_piracy_ip"][2] == 1  # every attack of it now a success: it ranks first
    themes = {r["theme"]: r["n_attacks"] for r in q.view("theme_metrics", Filters()).iter_rows(named=True)}
    assert themes["violence_incitement"] == before["violence_incitement"][0] + 20
    assert q.overall(Filters())["n_attacks"] == sum(n for n, _ in _expected(frame).values())
    # the rows say where their values come from; the published value is kept beside the analyst's
    scope = q.in_scope(Filters(themes=("digital_piracy_ip",)), "attack_id, success, success_original, theme_source")
    assert scope["success"].all() and not scope["success_original"].all()
    moved = q.in_scope(Filters(), "theme_source, theme_original", "where attack_id = $a", {"a": movers["attack_id"][0]})
    assert moved.row(0) == ("analyst", "misinformation_conspiracy")
    counts = q.corrected_counts(Filters())
    assert counts["theme"] == 20 and counts["success"] == len(piracy) and counts["excluded"] == 0
    assert counts["in_scope"] == frame.height


def test_a_success_verdict_survives_a_success_threshold_filter(db):
    store = AnnotationStore.for_database(db)
    frame = _attacks(db).filter(pl.col("rating") >= 3).sort("attack_id")
    store.set_attack_success(frame["attack_id"].head(5).to_list(), False, user="u")
    q = Queries(open_read_only(db))
    strict = q.in_scope(Filters(success_threshold=1), "attack_id, success", "where list_contains($ids, attack_id)",
                        {"ids": frame["attack_id"].head(6).to_list()}).sort("attack_id")
    assert strict["success"].to_list() == [False] * 5 + [True]


def test_excluded_attacks_leave_every_metric(db):
    store = AnnotationStore.for_database(db)
    frame = _attacks(db).filter(~pl.col("is_duplicate") & (pl.col("theme") == "privacy_pii"))
    excluded = frame.head(7)["attack_id"].to_list()
    q = Queries(open_read_only(db))
    n_before = q.overall(Filters())["n_attacks"]
    store.set_attack_exclusion(excluded[:4], "not_an_attack", user="u")
    store.set_attack_exclusion(excluded[4:], "duplicate", user="u")
    q.refresh_annotations()
    assert q.overall(Filters())["n_attacks"] == n_before - 7
    expected = _expected(_attacks(db).filter(~pl.col("attack_id").is_in(excluded)))
    assert _ranked(q)["privacy_pii"][:2] == expected["privacy_pii"]
    assert q.count_attacks(Filters(), ids=tuple(excluded)) == 0
    assert q.corrected_counts(Filters(themes=("privacy_pii",)))["excluded"] == 7
    assert q.corrected_counts(Filters(themes=("violence_incitement",)))["excluded"] == 0


def test_cluster_rename_theme_and_merge(db):
    store = AnnotationStore.for_database(db)
    sizes = dict(raw(db, "select cluster_id, count(*) from attacks group by cluster_id"))
    own = raw(db, "select attack_id from attacks where cluster_id = 2 order by attack_id limit 1")[0][0]
    store.rename_cluster(0, "Fake cures <b>", user="u")
    store.merge_cluster(1, 0, user="u")
    store.set_attack_theme([own], "other", user="u")
    store.set_cluster_theme(2, "privacy_pii", user="u")
    q = Queries(open_read_only(db))
    clusters = {r["cluster_id"]: r for r in q.priority_areas(Filters(), kind="cluster").iter_rows(named=True)}
    assert 1 not in clusters
    assert clusters[0]["cluster_label"] == "Fake cures <b>" and clusters[0]["n_attacks"] == sizes[0] + sizes[1]
    assert clusters[2]["theme"] == "privacy_pii"
    metrics = {r["cluster_id"]: r for r in q.view("cluster_metrics", Filters()).iter_rows(named=True)}
    assert metrics[0]["cluster_label"] == "Fake cures <b>" and metrics[2]["theme"] == "privacy_pii"
    in_two = q.in_scope(Filters(cluster_ids=("2",)), "attack_id, theme, theme_source")
    assert in_two.height == sizes[2]
    assert in_two.filter(pl.col("attack_id") == own)["theme"].to_list() == ["other"]  # its own correction wins
    assert set(in_two.filter(pl.col("attack_id") != own)["theme"].to_list()) == {"privacy_pii"}
    assert set(in_two["theme_source"].to_list()) == {"analyst"}
    assert q.filter_options().clusters[0] == "Fake cures <b>" and 1 not in q.filter_options().clusters
    assert q.count_attacks(Filters(cluster_ids=("0",))) == sizes[0] + sizes[1]


def test_every_cursor_sees_a_refresh_at_once(db):
    con = open_read_only(db)
    first, second = con.cursor(), con.cursor()
    for cursor in (first, second):
        cursor.execute("use risk")
    q1 = Queries(first)
    assert q1.corrected_counts(Filters())["total"] == 0
    AnnotationStore.for_database(db).set_attack_success(["a00001"], False, user="u")
    assert Queries(second).corrected_counts(Filters())["success"] == 1  # made after the write: loads it
    assert q1.corrected_counts(Filters())["success"] == 1  # same tables, shared by the connection's cursors


def test_reports_state_corrections_and_list_mitigations(db):
    store = AnnotationStore.for_database(db)
    store.set_attack_theme(["a00001", "a00002"], "privacy_pii", user="u")
    store.set_mitigation("theme", "misinformation_conspiracy", status="in_progress", owner="=cmd|' /C calc'!A0",
                         due_date="2026-12-31", note=HOSTILE_NOTE,
                         link='https://x.example/"><script>alert(2)</script>', user="u")
    content = gather(open_read_only(db), with_attacks=True, with_charts=False)
    assert content.corrections["theme"] == 2
    md = render(content, "md").decode()
    assert "2 values in scope are analyst corrections" in md and "Mitigation status" in md
    assert "<script>" not in md
    html = render(content, "html").decode()
    assert "Mitigation status" in html and "in progress" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert 'href="javascript' not in html and "<script>alert(2)" not in html
    # the PDF is printed from this same HTML (dashboard/reports/pdf.py), so it carries the same table
    book = openpyxl.load_workbook(io.BytesIO(render(content, "xlsx")))
    sheet = book["Mitigation status"]
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert "'=cmd|' /C calc'!A0" in values and "'" + HOSTILE_NOTE in values
    about = {row[0].value: row[1].value for row in book["About"].iter_rows()}
    assert "2 values in scope are analyst corrections" in about["Analyst corrections"]


def test_the_dashboard_cache_follows_the_store(db, monkeypatch):
    from dashboard import data

    monkeypatch.setenv(data.DB_ENV, str(db))
    before = data.overall(Filters())["n_attacks"]
    data.annotation_store().set_attack_exclusion(["a00003"], "not_an_attack", user="local")
    assert data.overall(Filters())["n_attacks"] == before - 1
    assert data.corrected_counts(Filters())["excluded"] == 1
    assert data.history()["entity_id"].to_list() == ["a00003"] and data.unplaced().height == 0
    data.annotation_store().set_mitigation("theme", "privacy_pii", owner="me", user="local")
    assert data.mitigations().filter(pl.col("key") == "privacy_pii")["area_name"].to_list() != [None]


def test_compare_uses_the_corrections(db):
    """Compare (sql/compare.py) reads both scopes through the same overlay: corrected success verdicts and a
    renamed cluster show in its groups, recounted from the raw rows."""
    store = AnnotationStore.for_database(db)
    frame = _attacks(db).filter(~pl.col("is_duplicate"))
    rlhf = {r[0] for r in raw(db, "select attack_id from attacks where model_type = 'rlhf'")}
    flipped = frame.filter(pl.col("attack_id").is_in(list(rlhf)) & (pl.col("theme") == "digital_piracy_ip"))
    store.set_attack_success(flipped["attack_id"].to_list(), True, user="ana")
    cluster = int(frame.filter(pl.col("cluster_id") >= 0)["cluster_id"][0])
    store.rename_cluster(cluster, "Renamed by an analyst", user="ana")

    q = Queries(open_read_only(db))
    result = q.compare(Filters(model_types=("plain lm",)), Filters(model_types=("rlhf",)))
    piracy = result.grain("theme").filter(pl.col("theme") == "digital_piracy_ip").row(0, named=True)
    in_b = frame.filter(pl.col("attack_id").is_in(list(rlhf)) & (pl.col("theme") == "digital_piracy_ip"))
    assert piracy["n_attacks_b"] == in_b.height and piracy["n_success_b"] == in_b.height  # every one a success now
    names = set(result.grain("cluster")["group_name"].to_list())
    assert "Renamed by an analyst" in names


def test_csv_report_and_export_carry_each_attacks_mitigation_status(db):
    from dashboard.reports import build_report_bytes

    store = AnnotationStore.for_database(db)
    store.set_mitigation("theme", "misinformation_conspiracy", status="in_progress", owner="ana", user="ana")
    cluster = int(_attacks(db).filter(pl.col("cluster_id") >= 0)["cluster_id"][0])
    store.set_mitigation("cluster", str(cluster), status="accepted_risk", user="ana")
    rows = pl.read_csv(io.BytesIO(build_report_bytes(db, Filters(), "csv")), infer_schema_length=0)
    by_theme = rows.group_by("theme").agg(pl.col("theme_mitigation").unique())
    for theme, statuses in by_theme.iter_rows():
        assert statuses == (["in_progress"] if theme == "misinformation_conspiracy" else [None]), theme
    in_cluster = rows.filter(pl.col("cluster_id") == str(cluster))
    assert in_cluster.height and set(in_cluster["cluster_mitigation"]) == {"accepted_risk"}
    assert set(rows.filter(pl.col("cluster_id") != str(cluster))["cluster_mitigation"]) == {None}


def test_a_theme_only_an_analyst_gave_is_offered_as_a_filter(db):
    present = {r[0] for r in raw(db, "select distinct theme from attacks")}
    unused = [r[0] for r in raw(db, "select theme from themes order by theme") if r[0] not in present]
    assert unused, "the fixture taxonomy should have a theme no attack has"
    only_theme = raw(db, "select attack_id, theme from attacks where theme = (select min(theme) from attacks)")
    q = Queries(open_read_only(db))
    assert unused[0] not in q.filter_options().themes
    store = AnnotationStore.for_database(db)
    store.set_attack_theme([a for a, _ in only_theme], unused[0], user="u")  # the old theme loses every attack
    q.refresh_annotations()
    options = q.filter_options().themes
    assert unused[0] in options and options[unused[0]] != ""  # listed, with its display name
    assert only_theme[0][1] not in options
    assert q.count_attacks(Filters(themes=(unused[0],))) == len(only_theme)
