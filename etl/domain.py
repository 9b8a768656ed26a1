"""Domain constants shared by the ETL, the query layer and the UI, in one place.

Standard library only (plus ``etl.errors``), so the dashboard, the reports and the CLI import it without
loading any stage of the pipeline, and the pipeline without loading any part of the UI. Definitions of the
metrics that use these numbers: docs/metrics.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from etl.errors import UserError

# The tables of a published database (sql/schema); a reader refuses a file that lacks one.
TABLES = ("attacks", "turns", "clusters", "themes", "runs", "rejected_rows", "attack_search", "attack_embeddings")

# The paper's grid (Ganguli et al. 2022): interventions in their usual order, then model sizes.
ANTHROPIC_MODEL_TYPES = ("plain lm", "context distillation", "rejection sampling", "rlhf")
ANTHROPIC_MODEL_SIZES = ("2.7B", "13B", "52B")
# A 0–4 rating at or above this is a success, unless the build or the user chose another threshold.
DEFAULT_SUCCESS_THRESHOLD = 3.0

# Priority score (sql/queries/priority_areas.sql): its components, in display order.
COMPONENTS = ("success", "volume", "severity", "resistance")
# An area whose attacks are mostly low-confidence themes (needs_review) gets a warning: its theme is a guess.
LOW_CONFIDENCE_SHARE = 0.5


@dataclass(frozen=True)
class Weights:
    """Weights of the priority score's components (any non-negative numbers; the score divides by their sum).

    success: Wilson lower bound of the success rate; volume: share of attacks; severity: taxonomy 1–5;
    resistance: success on the strongest model cell.
    """

    success: float = 0.4
    volume: float = 0.2
    severity: float = 0.2
    resistance: float = 0.2

    def __post_init__(self) -> None:
        for name in COMPONENTS:
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise UserError(f"priority weight {name} must be a number, not {value!r}") from None
            if not math.isfinite(value) or value < 0:
                raise UserError(f"priority weight {name} must be a finite number ≥ 0, not {value!r}")
            object.__setattr__(self, name, value)
        if sum(getattr(self, name) for name in COMPONENTS) == 0:
            raise UserError("at least one priority weight must be above 0")

    def params(self) -> dict[str, float]:
        """The query's ``$w_*`` parameters."""
        return {f"w_{name}": getattr(self, name) for name in COMPONENTS}

# Leading characters that make a spreadsheet cell a formula: exports prefix them with ' (dashboard/safety.py,
# annotations/transfer.py).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
