"""The Anthropic red-team attempts file (Ganguli et al. 2022) as a preset of canonical field sources.

The published ``red_team_attempts.jsonl.gz`` is one JSON array despite its name; JSON Lines, plain or compressed,
is read the same way (container detection is by content, in ``etl.sources``). Field by field
(``/work/shared/data/hh-rlhf/FORMAT.md``):

- ``attack_text`` = the first human turn of ``transcript``; ``n_turns`` = its number of human turns.
- ``model_size`` = ``num_params`` as given ("52B"); ``model_size_b`` = 52.0; ``model`` = "<model_type> <num_params>".
- ``harmlessness`` = ``min_harmlessness_score_transcript`` (null allowed).
- ``task_description_harmlessness`` = ``task_descripton_harmlessness_score`` (the real file's spelling), or the
  correctly spelled key.
- ``red_team_member_id`` as text ("0"); ``tags`` null or a list; ``rating`` 0–4; success = rating >= threshold.
"""

from __future__ import annotations

from collections.abc import Collection

DATASET = "anthropic-red-team"

# canonical field -> source keys tried in order (the canonical name itself is tried last by the caller)
FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "harmlessness": ("min_harmlessness_score_transcript",),
    "model_size": ("num_params",),
    "task_description_harmlessness": ("task_descripton_harmlessness_score", "task_description_harmlessness_score"),
}

KEYS = frozenset({
    "transcript",
    "min_harmlessness_score_transcript",
    "num_params",
    "model_type",
    "rating",
    "task_description",
    "task_descripton_harmlessness_score",
    "red_team_member_id",
    "is_upworker",
    "tags",
})


def looks_anthropic(keys: Collection[str]) -> bool:
    """True for a record (or header) with the red-team file's signature: a transcript plus its own metadata keys."""
    return "transcript" in keys and ("num_params" in keys or "min_harmlessness_score_transcript" in keys)
