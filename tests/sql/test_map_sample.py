"""The attack map's bounded queries (``Queries.map_points`` / ``map_counts`` / ``map_density`` / ``map_extent``):
the sample is bounded, deterministic, keeps every cluster (small ones whole), follows the density of the data,
and the counts it stands for are true (recounted here from the ``attacks`` table); filters and a region apply.
Also ``bench.big_db``, which builds the large database the map is measured on."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from bench import big_db
from etl.errors import UserError
from sql.database import MAP_KEEP_WHOLE, MapRegion, Queries, open_read_only
from sql.filters import Filters
from tests.fixture_db import clusters_frame, make_tables, write_db


SMALL_CLUSTER = 99


@pytest.fixture(scope="module")
def map_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dashboard fixture with 40 attacks per cell (1,922 attacks, clusters of about 200 plus noise) and one
    small cluster (``SMALL_CLUSTER``: 20 attacks taken from cluster 0)."""
    tables = make_tables(n_per_cell=40)
    attacks = tables["attacks"]
    moved = attacks.filter(pl.col("cluster_id") == 0)["attack_id"].head(20)
    attacks = attacks.with_columns(pl.when(pl.col("attack_id").is_in(moved.implode())).then(SMALL_CLUSTER)
                                   .otherwise(pl.col("cluster_id")).cast(attacks["cluster_id"].dtype)
                                   .alias("cluster_id"))
    return write_db(tmp_path_factory.mktemp("map") / "map.duckdb",
                    {**tables, "attacks": attacks, "clusters": clusters_frame(attacks)})


@pytest.fixture()
def q(map_db: Path):
    con = open_read_only(map_db)
    yield Queries(con)
    con.close()


def recount(q: Queries, where: str = "true", params: dict | None = None) -> pl.DataFrame:
    """cluster_id, n of the attacks with a position, straight from the table."""
    return q.sql(f"select cluster_id, count(*) as n from attacks where x is not null and y is not null and {where} "
                 "group by cluster_id order by cluster_id nulls last", params)


def test_the_sample_is_bounded_deterministic_and_keeps_every_cluster(q):
    truth = recount(q)
    assert truth["n"].sum() > 1500  # sampling has something to do
    for budget in (50, 300, 1000):
        sample = q.map_points(Filters(), max_points=budget)
        assert sample.height <= budget
        assert sample.height >= 0.9 * budget  # the budget is used, not wasted
        assert sample["attack_id"].is_unique().all()
        assert set(sample["cluster_id"].to_list()) == set(truth["cluster_id"].to_list()), budget
        assert sample.equals(q.map_points(Filters(), max_points=budget))  # deterministic
    assert q.map_points(Filters(), max_points=5000).height == truth["n"].sum()  # fits: every attack


def test_small_clusters_are_whole_and_large_ones_are_sampled_in_proportion(q):
    truth = dict(recount(q).iter_rows())
    assert truth[SMALL_CLUSTER] <= MAP_KEEP_WHOLE < max(truth.values())  # the fixture has both kinds
    sample = q.map_points(Filters(), max_points=600)
    shown = dict(sample.group_by("cluster_id").len().iter_rows())
    for cluster, n in truth.items():
        if n <= MAP_KEEP_WHOLE:
            assert shown[cluster] == n, cluster
        else:
            assert MAP_KEEP_WHOLE <= shown[cluster] < n, cluster
    big = [c for c, n in truth.items() if n > MAP_KEEP_WHOLE]
    # the part of a large cluster above the reserve is proportional to its size (within rounding)
    rates = [(shown[c] - MAP_KEEP_WHOLE) / (truth[c] - MAP_KEEP_WHOLE) for c in big]
    assert max(rates) - min(rates) < 0.02


def test_the_sample_follows_the_density_of_the_map(q):
    """Inside a cluster each grid cell gives about the same fraction: the sample's share of attacks per map
    quadrant matches the data's."""
    everything = q.map_points(Filters(), max_points=5000)
    sample = q.map_points(Filters(), max_points=600)
    mx, my = everything["x"].median(), everything["y"].median()

    def shares(frame: pl.DataFrame) -> list[float]:
        quadrant = (pl.col("x") > mx).cast(pl.Int8) * 2 + (pl.col("y") > my).cast(pl.Int8)
        counts = frame.group_by(quadrant.alias("q")).len().sort("q")["len"].to_list()
        return [c / frame.height for c in counts]

    assert shares(sample) == pytest.approx(shares(everything), abs=0.05)


def test_counts_are_true_and_filters_and_regions_apply(q):
    assert q.map_counts(Filters()).equals(recount(q))
    scoped = Filters(model_types=("rlhf",))
    counts = q.map_counts(scoped)
    assert counts.equals(recount(q, "model_type = 'rlhf'"))
    sample = q.map_points(scoped, max_points=100)
    assert sample.height <= 100 and set(sample["cluster_id"].to_list()) == set(counts["cluster_id"].to_list())
    assert q.sql("select count(*) as n from attacks where model_type <> 'rlhf' and list_contains($ids, attack_id)",
                 {"ids": sample["attack_id"].to_list()})["n"][0] == 0
    extent = q.map_extent(Filters())
    region = MapRegion(extent["x0"], (extent["x0"] + extent["x1"]) / 2, extent["y0"], extent["y1"])
    inside = q.map_points(Filters(), max_points=5000, region=region)
    assert inside.height and inside["x"].max() <= region.x_max + 1e-4
    truth = recount(q, "x <= $x_max", {"x_max": region.x_max})
    assert q.map_counts(Filters(), region)["n"].sum() == truth["n"].sum() == inside.height
    density = q.map_density(Filters(), region, grid=20)
    assert density["n"].sum() == truth["n"].sum()  # every attack counted, none sampled
    assert density["cell_x"].max() < 20 and density["cell_y"].max() < 20


def test_density_counts_every_attack_per_cell(q):
    cells = q.map_density(Filters(), grid=10)
    assert cells["n"].sum() == recount(q)["n"].sum()
    assert cells.select(pl.struct("cell_x", "cell_y").is_unique().all()).item()
    x0, x1 = cells["x0"][0], cells["x1"][0]
    assert cells["x"].min() > x0 and cells["x"].max() < x1  # centres inside the extent
    with pytest.raises(ValueError):
        q.map_density(Filters(), grid=0)


def test_a_region_takes_values_as_bound_parameters_and_rejects_an_inverted_one(q):
    hostile = MapRegion(x_min=None, x_max=None, y_min=None, y_max=None)
    assert q.map_counts(Filters(), hostile)["n"].sum() == recount(q)["n"].sum()
    with pytest.raises(UserError):
        MapRegion(x_min=2.0, x_max=1.0)
    assert q.map_points(Filters(text="no attack says this")).height == 0
    assert q.map_extent(Filters(text="no attack says this")) is None


def test_big_db_repeats_the_attacks_through_the_real_build(map_db: Path, tmp_path: Path):
    out = tmp_path / "big.duckdb"
    summary = big_db.build(map_db, out, rows=5000)
    assert summary["rows"] == 5000 and summary["copies"] == 3
    con = open_read_only(out)  # a published database: every table the dashboard needs
    try:
        q = Queries(con)
        src = duckdb.connect(str(map_db), read_only=True)
        n_src = src.sql("select count(*) from attacks").fetchall()[0][0]
        clusters = src.sql("select count(*) from clusters").fetchall()[0][0]
        src.close()
        assert q.sql("select count(distinct attack_id) as n from attacks")["n"][0] == 5000
        assert q.sql("select count(*) as n from attacks where attack_id like '%~1'")["n"][0] == n_src
        assert q.sql("select count(*) as n from clusters")["n"][0] == clusters
        assert q.overall(Filters())["n_attacks"] == 5000  # the views work on it
        assert q.sql("select count(*) as n from priority_areas")["n"][0] > 0  # materialized
        moved = q.sql("select a.x - b.x as dx from attacks a join attacks b on a.attack_id = b.attack_id || '~1'")
        assert moved["dx"].abs().max() > 0  # copies are jittered, not stacked
    finally:
        con.close()
