"""Where the report's numbers come from: the dashboard's own queries, on the caller's connection.

``dashboard.data.Queries`` holds every query the dashboard runs, on any DuckDB connection and without
Streamlit; the dashboard calls it through its caches, a report calls it directly. So a report shows
exactly what the dashboard shows for the same filters. The one query only reports need (representative
examples of an area) is here, written over the same ``attacks_in_scope`` query.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import duckdb
import polars as pl

from etl import store
from sql.filters import Filters


def _import_queries():
    try:  # a Streamlit-free home, if the dashboard moves it there
        from dashboard.queries import EXPORT_COLUMNS, Queries  # type: ignore[import-not-found]
    except ImportError:
        # dashboard.data decorates functions with st.cache_data at import, which logs a "No runtime found"
        # warning outside `streamlit run`: noise on a CLI, so it is muted for the import only.
        noisy = logging.getLogger("streamlit.runtime.caching.cache_data_api")
        was = noisy.disabled
        noisy.disabled = True
        try:
            from dashboard.data import EXPORT_COLUMNS, Queries
        finally:
            noisy.disabled = was
    return Queries, EXPORT_COLUMNS


Queries, EXPORT_COLUMNS = _import_queries()


def queries(con: duckdb.DuckDBPyConnection) -> Queries:
    """The dashboard's queries on ``con`` (a connection or cursor used by this thread only)."""
    return Queries(con)


def examples(q: Queries, filters: Filters, theme: str, n: int) -> pl.DataFrame:
    """Up to ``n`` representative attacks of ``theme`` in scope: first the clusters' representatives
    (nearest their centroids, biggest clusters first), then the most successful others (highest rating,
    lowest harmlessness). Duplicates are left out. Columns: attack_id, model, rating, harmlessness,
    success, cluster_label, task_description, attack_text."""
    return q.in_scope(
        filters,
        "scope.attack_id, model, rating, harmlessness, success, cluster_label, task_description, attack_text",
        "left join (select unnest(representative_ids) as attack_id, n_attacks as cluster_size from clusters "
        "where cluster_id <> -1) as reps on reps.attack_id = scope.attack_id "
        "where theme = $example_theme and not is_duplicate "
        "order by reps.cluster_size desc nulls last, rating desc nulls last, harmlessness asc nulls last, "
        "scope.attack_id limit $example_limit",
        {"example_theme": theme, "example_limit": int(n)},
    )


def latest_run(q: Queries) -> dict[str, Any] | None:
    """The newest published build (else the newest build) as ``etl.store.latest_run`` picks it, with
    ``inputs`` and ``parameters`` parsed from JSON."""
    run = store.latest_run(q.runs())
    if run is not None and isinstance(run.get("inputs"), str):
        try:
            run["inputs"] = json.loads(run["inputs"])
        except ValueError:
            run["inputs"] = None
    return run


def count_in_database(q: Queries) -> int:
    """Attacks in the database before any filter."""
    return q.count_attacks(Filters())
