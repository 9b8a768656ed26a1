"""The canonical attack record: the one contract between ingest and everything after it.

Every reader in ``etl.sources`` produces rows with exactly these columns (polars dtypes); the
analytics stages add ``ANALYTICS_COLUMNS``. ``sql/schema/attacks.sql`` declares the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

# name -> polars dtype, in table order. Units: rating is the red-team member's 0–4 self-rating;
# harmlessness is the preference-model score (lower = more harmful); model_size_b is billions of parameters.
ATTACK_COLUMNS: dict[str, pl.DataType] = {
    "attack_id": pl.String,  # stable hash of dataset identity + content
    "source_file": pl.String,
    "source_row": pl.Int64,  # 0-based position of the record in its file (CSV: data row, header excluded)
    "model": pl.String,  # free-text model name (generic data) or "<model_type> <num_params>" (anthropic)
    "model_type": pl.String,  # intervention: "plain lm", "context distillation", "rejection sampling", "rlhf", or as given
    "model_size": pl.String,  # as given, e.g. "52B"
    "model_size_b": pl.Float64,  # parsed size in billions of parameters, null when unknown
    "rating": pl.Float64,  # 0–4, null when the input has only `success`
    "success": pl.Boolean,  # rating >= success threshold, or the input's own boolean
    "harmlessness": pl.Float64,  # min_harmlessness_score_transcript
    "task_description": pl.String,
    "task_description_harmlessness": pl.Float64,  # task_descripton_harmlessness_score (sic in the real file)
    "attack_text": pl.String,  # first human turn / the attacker's prompt (required)
    "transcript": pl.String,
    "response": pl.String,  # the model's reply for single-turn generic data
    "n_turns": pl.Int32,  # number of human turns
    "red_team_member_id": pl.String,
    "is_upworker": pl.Boolean,
    "tags": pl.List(pl.String),
    "attack_method": pl.String,
    "campaign": pl.String,
    "category": pl.String,  # the source's own harm category label, verbatim (tool outputs, --map category=COL)
    "created_at": pl.Datetime("us"),
    "is_duplicate": pl.Boolean,  # an earlier row has the same attack_id content
}

ANALYTICS_COLUMNS: dict[str, pl.DataType] = {
    "embed_text": pl.String,  # the text that was embedded
    "cluster_id": pl.Int32,  # -1 = unclustered (HDBSCAN noise)
    "cluster_label": pl.String,
    "theme": pl.String,  # a theme id from the taxonomy; "other" below the confidence floor
    "theme_confidence": pl.Float64,  # 0–1, calibrated probability that ``theme`` is right
    "theme_source": pl.String,  # how the theme was decided: "model" | "source" (the input's own category) | "analyst"
    "needs_review": pl.Boolean,  # the model's confidence was below the taxonomy's review threshold
    "cluster_strength": pl.Float64,  # 0–1 HDBSCAN membership strength (1 = core member; 0 for unclustered)
    "x": pl.Float64,  # 2-D map position (UMAP)
    "y": pl.Float64,
}

TURN_COLUMNS: dict[str, pl.DataType] = {
    "attack_id": pl.String,
    "turn_index": pl.Int32,  # 0-based
    "speaker": pl.String,  # "human" | "assistant"
    "text": pl.String,
}

REJECTED_COLUMNS: dict[str, pl.DataType] = {
    "source_file": pl.String,
    "source_row": pl.Int64,  # null when the whole file was rejected
    "reason": pl.String,  # a sentence a person understands
    "raw_excerpt": pl.String,  # at most 500 characters of the offending input
}


def embeddings_frame(attack_ids: Sequence[str] | pl.Series, vectors: np.ndarray) -> pl.DataFrame:
    """The ``attack_embeddings`` table (sql/schema/attack_embeddings.sql): attack ``i`` gets row ``i`` of
    ``vectors`` (n × d, the embed stage's L2-normalised vectors), stored as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    ids = list(attack_ids)
    if vectors.ndim != 2 or vectors.shape[0] != len(ids):
        raise ValueError(f"{len(ids)} attacks but vectors of shape {vectors.shape}")
    return pl.DataFrame({"attack_id": pl.Series(ids, dtype=pl.String),
                         "vector": pl.Series(vectors).cast(pl.List(pl.Float32))})


def empty_frame(columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=columns)


def conform(df: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """Return ``df`` with exactly ``columns`` in order, adding missing ones as nulls and casting types."""
    exprs = []
    for name, dtype in columns.items():
        if name in df.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(exprs)
