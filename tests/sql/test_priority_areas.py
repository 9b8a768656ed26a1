"""Priority areas: the score resists lucky small areas, follows the weights and filters, and explains itself."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from etl import metrics
from etl.errors import UserError
from sql.filters import Filters
from tests.fixture_db import build_db, make_attacks, themes_frame

SPEC = [
    ("steady", "plain lm", "52B", 500, 250),
    ("steady", "rlhf", "52B", 500, 150),  # 400 / 1000 overall
    ("lucky", "rlhf", "52B", 2, 2),  # 2 / 2: a perfect but tiny record
    ("severe", "plain lm", "52B", 100, 10),
    ("untaxed", "plain lm", "52B", 50, 5),  # a theme missing from the taxonomy
]
TAXONOMY = {"steady": ("Steady theme", 3, 0), "lucky": ("Lucky theme", 3, 0), "severe": ("Severe theme", 5, 0)}


@pytest.fixture(scope="module")
def pcon(tmp_path_factory):
    path = build_db(tmp_path_factory.mktemp("priority") / "p.duckdb", make_attacks(SPEC), themes_frame(TAXONOMY, ()))
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def by_theme(df: pl.DataFrame) -> dict[str, dict]:
    return {row["theme"]: row for row in df.iter_rows(named=True)}


def test_a_few_lucky_attacks_do_not_top_the_list(pcon):
    areas = by_theme(metrics.priority_areas(pcon))
    lucky, steady = areas["lucky"], areas["steady"]
    assert lucky["success_rate"] == 1.0 and steady["success_rate"] == 0.4
    assert lucky["success_ci_low"] < steady["success_ci_low"]  # Wilson: 0.342 vs 0.370
    assert steady["rank"] < lucky["rank"]
    assert steady["rank"] == 1
    # the resistance component even favours the lucky theme (2/2 on rlhf 52B vs 150/500), and it still loses
    assert lucky["resistance_score"] > steady["resistance_score"]


def test_components_scores_and_ranks_are_well_formed(pcon):
    areas = metrics.priority_areas(pcon)
    assert areas["rank"].to_list() == list(range(1, areas.height + 1))
    assert areas["score"].to_list() == sorted(areas["score"].to_list(), reverse=True)
    for column in ("score", "success_score", "volume_score", "severity_score", "resistance_score"):
        assert areas[column].is_between(0, 1).all(), column
    assert areas.select("w_success", "w_volume", "w_severity", "w_resistance").unique().rows() == [(0.4, 0.2, 0.2, 0.2)]
    rows = by_theme(areas)
    assert rows["steady"]["success_score"] == 1.0 and rows["steady"]["volume_score"] == 1.0
    assert rows["severe"]["severity_score"] == 1.0 and rows["steady"]["severity_score"] == 0.5
    assert rows["untaxed"]["severity"] is None and rows["untaxed"]["severity_score"] == 0.5
    assert {r["resistance_cell"] for r in rows.values()} == {"rlhf 52B"}  # lowest success among cells ≥ 30 attacks
    assert rows["severe"]["resistance_n_attacks"] is None and rows["severe"]["resistance_score"] == 0
    weighted = (0.4 * rows["severe"]["success_score"] + 0.2 * rows["severe"]["volume_score"]
                + 0.2 * rows["severe"]["severity_score"] + 0.2 * rows["severe"]["resistance_score"])
    assert rows["severe"]["score"] == pytest.approx(weighted)


@pytest.mark.parametrize(
    ("weights", "first"),
    [
        (metrics.Weights(), "steady"),
        (metrics.Weights(success=0, volume=0, severity=1, resistance=0), "severe"),
        (metrics.Weights(success=0, volume=0, severity=0, resistance=1), "lucky"),
    ],
)
def test_weights_change_the_ranking(pcon, weights, first):
    areas = metrics.priority_areas(pcon, weights=weights)
    assert areas.row(0, named=True)["theme"] == first
    assert areas["w_resistance"][0] == weights.resistance


def test_filters_change_the_ranking_inputs(pcon):
    areas = by_theme(metrics.priority_areas(pcon, Filters(model_types=("plain lm",))))
    assert "lucky" not in areas
    assert areas["steady"]["success_rate"] == 0.5
    assert areas["steady"]["resistance_cell"] == "plain lm 52B"
    assert "Model types: plain lm" == Filters(model_types=("plain lm",)).describe()


def test_explanations_state_the_numbers(pcon):
    rows = by_theme(metrics.priority_areas(pcon))
    assert rows["steady"]["explanation"] == (
        "Steady theme: 40% success (95% CI 37–43%), 87% of attacks, severity 3/5, "
        "still succeeds on rlhf 52B (30% of 500 attacks)"
    )
    assert "severity unknown" in rows["untaxed"]["explanation"]
    assert "not attacked on rlhf 52B" in rows["severe"]["explanation"]
    assert "100% success (95% CI 34–100%)" in rows["lucky"]["explanation"]


def test_compare_areas_explains_the_order(pcon):
    areas = metrics.priority_areas(pcon)
    text = metrics.compare_areas(areas, "Lucky theme", "steady")
    assert text.startswith("Steady theme ranks above Lucky theme (#1 vs #")
    for fragment in ("40% vs 100% success", "95% CI 37–43% vs 34–100%", "500× the volume (87% vs 0.2% of attacks)",
                     "severity 3/5 vs 3/5", "on rlhf 52B 30% vs 100% success",
                     "it leads on success (CI lower bound) and volume and trails on resistance"):
        assert fragment in text, fragment
    assert "on rlhf 52B" not in metrics.compare_areas(areas, "severe", "untaxed")  # neither was attacked there
    assert metrics.compare_areas(areas, "steady", "STEADY") == "Steady theme and Steady theme are the same area"
    with pytest.raises(UserError, match="no priority area named 'nope'"):
        metrics.compare_areas(areas, "steady", "nope")


def test_paper_ordering_on_the_default_fixture(con):
    areas = metrics.priority_areas(con)
    assert areas.row(0, named=True)["theme"] == "misinformation"
    text = metrics.compare_areas(areas, "misinformation", "piracy")
    assert text.startswith("Misinformation & conspiracy ranks above Digital piracy")
    assert "still succeeds on rlhf 52B" in text


def test_materialize_fills_both_tables_with_the_default_ranking(con):
    table = con.sql("select * from priority_areas order by rank").pl()
    assert table.equals(metrics.priority_areas(con).select(table.columns))
    assert table["explanation"].null_count() == 0
    clusters = con.sql("select * from cluster_priority_areas order by rank").pl()
    assert clusters.height > 0 and -1 not in clusters["cluster_id"].to_list()
    assert clusters["rank"].to_list() == list(range(1, clusters.height + 1))
    assert clusters.equals(metrics.cluster_priority_areas(con).select(clusters.columns))
    assert metrics.compare_areas(clusters, clusters["cluster_id"][0], clusters["cluster_label"][1]).startswith(
        f"{clusters['cluster_label'][0]} ranks above")


@pytest.mark.parametrize("kwargs", [{"success": -1}, {"volume": float("nan")}, {"severity": "x"},
                                    {"success": 0, "volume": 0, "severity": 0, "resistance": 0}])
def test_bad_weights_are_user_errors(kwargs):
    with pytest.raises(UserError):
        metrics.Weights(**kwargs)


def test_areas_carry_their_low_confidence_share_and_warn_when_it_is_most(tool_con, tool_tables):
    attacks = tool_tables["attacks"]
    expected = dict(attacks.group_by("theme").agg(pl.col("needs_review").mean()).iter_rows())
    rows = by_theme(metrics.priority_areas(tool_con))
    for theme, row in rows.items():
        assert row["needs_review_share"] == pytest.approx(expected[theme])
        assert ("low-confidence theme" in row["explanation"]) == (expected[theme] > metrics.LOW_CONFIDENCE_SHARE)
    assert any(metrics.rests_on_low_confidence(r) for r in rows.values())
    table = tool_con.sql("select theme, needs_review_share from priority_areas").pl()
    assert dict(table.iter_rows()) == pytest.approx(expected)
    clusters = tool_con.sql("select needs_review_share from cluster_priority_areas").pl()
    assert clusters["needs_review_share"].is_between(0, 1).all()


def test_tool_output_resistance_names_a_model_not_all_models(tool_con):
    rows = metrics.priority_areas(tool_con)
    assert rows["resistance_cell"].to_list()[0] in ("llama-2-7b-chat", "gpt-4-0613", "gpt-3.5-turbo-1106")
    assert not any("all models" in e for e in rows["explanation"])
