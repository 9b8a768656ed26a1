"""Build stage: fill the ``priority_areas`` / ``cluster_priority_areas`` tables over all attacks.

The score, its explanations and comparisons are the query layer's (``sql.priority``, over
``sql/queries/priority_areas.sql``); the weights and components are ``etl.domain``'s. Their names are
imported here too, so that ``etl.metrics.priority_areas`` and the like keep working.
"""

from __future__ import annotations

import logging
import time

import duckdb

from etl.domain import COMPONENTS, LOW_CONFIDENCE_SHARE, Weights
from sql.priority import (
    cluster_priority_areas,
    cluster_rows,
    compare_areas,
    explain,
    low_confidence_warning,
    priority_areas,
    rests_on_low_confidence,
    scored,
    theme_rows,
)

log = logging.getLogger("redteam_risk.metrics")

__all__ = ["COMPONENTS", "LOW_CONFIDENCE_SHARE", "Weights", "cluster_priority_areas", "compare_areas", "explain",
           "low_confidence_warning", "materialize", "priority_areas", "rests_on_low_confidence"]


def materialize(con: duckdb.DuckDBPyConnection, weights: Weights | None = None) -> dict[str, int]:
    """Fill ``priority_areas`` and ``cluster_priority_areas`` (replacing their rows) over all attacks.

    Called at build time, after the views exist. Returns the number of rows written per table.
    """
    log.info("priority areas: start")
    t0 = time.perf_counter()
    written = {}
    areas = scored(con, None, weights)
    for table, frame in (("priority_areas", theme_rows(areas)), ("cluster_priority_areas", cluster_rows(areas))):
        con.execute(f"delete from {table}")
        if frame.height:
            con.execute(f"insert into {table} by name select * from frame")
        written[table] = frame.height
    log.info("priority areas: done in %.2f s (%s)", time.perf_counter() - t0, written)
    return written
