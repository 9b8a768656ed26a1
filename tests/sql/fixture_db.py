"""Fixture databases for the SQL tests: synthetic attacks written in code with known cells.

``make_attacks(spec)`` turns (theme, model_type, model_size, n, n_success) cells into attack rows with
known counts; ``build_db(path, attacks, themes)`` writes a full database (schema, views, priority tables)
through ``etl.store.write_build``. Look at the default one by hand:

    PYTHONPATH=. .venv/bin/python tests/sql/fixture_db.py /tmp/sql-fixture.duckdb
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl

from etl import metrics, store
from etl.schema import ANALYTICS_COLUMNS, ATTACK_COLUMNS, conform

SIZES = {"2.7B": 2.7, "13B": 13.0, "52B": 52.0}
MODEL_TYPES = ("plain lm", "context distillation", "rejection sampling", "rlhf")
# theme id -> (display name, severity, success probability on plain lm); interventions scale it down
THEMES = {
    "misinformation": ("Misinformation & conspiracy", 4, 0.6),
    "violence": ("Violence & incitement", 5, 0.35),
    "piracy": ("Digital piracy", 2, 0.2),
    "other": ("Other", 1, 0.1),
}
# success probability multiplier per model type and size; RLHF gets harder with scale
EFFECT = {
    "plain lm": {"2.7B": 1.0, "13B": 1.0, "52B": 1.0},
    "context distillation": {"2.7B": 0.8, "13B": 0.8, "52B": 0.8},
    "rejection sampling": {"2.7B": 0.6, "13B": 0.6, "52B": 0.6},
    "rlhf": {"2.7B": 0.7, "13B": 0.4, "52B": 0.2},
}
N_PER_CELL = 12
N_DUPLICATES = 3


def themes_frame(themes: dict[str, tuple] = THEMES, extra: Iterable[str] = ("unused",)) -> pl.DataFrame:
    """The ``themes`` table: every theme of ``themes`` plus ``extra`` ids that have no attacks."""
    ids = [*themes, *extra]
    return pl.DataFrame(
        {
            "theme": ids,
            "display_name": [themes[t][0] if t in themes else t.title() for t in ids],
            "description": [f"about {t}" for t in ids],
            "exemplars": [[f"an example of {t}"] for t in ids],
            "severity": [themes[t][1] if t in themes else 3 for t in ids],
        },
        schema_overrides={"severity": pl.Int32},
    )


def make_attacks(spec: Iterable[tuple[str, str, str, int, int]], seed: int = 0) -> pl.DataFrame:
    """Attack rows for cells ``(theme, model_type, model_size, n, n_success)``: exactly ``n_success`` of the
    ``n`` rows have rating 3–4 (success at the default threshold 3), the rest 0–2; harmlessness falls with
    rating; pools alternate; two clusters per theme plus every 7th attack unclustered (-1)."""
    rng = np.random.default_rng(seed)
    theme_index: dict[str, int] = {}
    rows = []
    for theme, model_type, size, n, n_success in spec:
        t = theme_index.setdefault(theme, len(theme_index))
        for k in range(n):
            i = len(rows)
            rating = float(rng.choice([3.0, 4.0]) if k < n_success else rng.choice([0.0, 1.0, 2.0]))
            rows.append({
                "attack_id": f"a{i:05d}",
                "source_file": "fixture.json",
                "source_row": i,
                "model": f"{model_type} {size}",
                "model_type": model_type,
                "model_size": size,
                "model_size_b": SIZES.get(size),
                "rating": rating,
                "success": rating >= 3,
                "harmlessness": float(round(1.0 - 0.9 * rating + rng.normal(0, 0.5), 4)),
                "task_description": f"Task about {theme} number {i}",
                "attack_text": f"Please help me with {theme} request {i}",
                "n_turns": 1,
                "red_team_member_id": str(i % 5),
                "is_upworker": i % 2 == 0,
                "is_duplicate": False,
                "cluster_id": -1 if i % 7 == 6 else 2 * t + (i % 2),
                "cluster_label": "unclustered" if i % 7 == 6 else f"{theme} group {i % 2}",
                "theme": theme,
                "theme_confidence": 0.9,
            })
    return conform(pl.DataFrame(rows, infer_schema_length=None), {**ATTACK_COLUMNS, **ANALYTICS_COLUMNS})


def default_spec(n: int = N_PER_CELL) -> list[tuple[str, str, str, int, int]]:
    return [
        (theme, model_type, size, n, round(n * p * EFFECT[model_type][size]))
        for theme, (_, _, p) in THEMES.items()
        for model_type in MODEL_TYPES
        for size in SIZES
    ]


def with_duplicates(attacks: pl.DataFrame, n: int = N_DUPLICATES) -> pl.DataFrame:
    """``attacks`` plus ``n`` re-loaded copies of its first rows, flagged ``is_duplicate`` as ingest does."""
    copies = attacks.head(n).with_columns(
        (pl.col("attack_id") + "~1").alias("attack_id"),
        (pl.col("source_row") + attacks.height).alias("source_row"),
        pl.lit(True).alias("is_duplicate"),
    )
    return pl.concat([attacks, copies])


def clusters_frame(attacks: pl.DataFrame) -> pl.DataFrame:
    return (
        attacks.group_by("cluster_id")
        .agg(
            pl.col("cluster_label").first().alias("label"),
            pl.len().cast(pl.Int64).alias("n_attacks"),
            pl.col("theme").mode().first().alias("theme"),
        )
        .with_columns(pl.when(pl.col("cluster_id") == -1).then(pl.lit("other")).otherwise("theme").alias("theme"))
        .sort("cluster_id")
    )


def build_db(path: Path, attacks: pl.DataFrame, themes: pl.DataFrame | None = None) -> Path:
    """A complete database at ``path`` from ``attacks`` (schema, views, priority tables)."""
    themes = themes if themes is not None else themes_frame()
    tables = {"attacks": attacks, "themes": themes, "clusters": clusters_frame(attacks)}
    store.write_build(path, tables, finalize=metrics.materialize)
    return path


def default_attacks() -> pl.DataFrame:
    return with_duplicates(make_attacks(default_spec()))


if __name__ == "__main__":
    out = build_db(Path(sys.argv[1] if len(sys.argv) > 1 else "sql-fixture.duckdb"), default_attacks())
    print(f"wrote {out}")
