"""Analyst annotations: corrections of the analysis, mitigation tracking and their history, kept in a SQLite
file beside the published database (``<db>.annotations.sqlite``) and applied at query time.

- ``annotations.store``: the store (``AnnotationStore``), its schema, migrations, history and undo.
- ``annotations.overlay``: loads the store's current state into a query session's in-memory DuckDB tables,
  which the ``source_attacks`` CTE of ``sql/queries/attacks_in_scope.sql`` applies.
- ``annotations.carry``: carries the corrections over to a rebuilt database (``redteam-risk etl``).
- ``annotations.transfer``: export / import as JSON or CSV (``redteam-risk annotations export|import``).

Imports: the standard library, sqlite3, polars, duckdb, ``etl.domain``, ``etl.errors``, ``sql`` — never
Streamlit, plotly, ``dashboard`` or a pipeline stage. See docs/annotations.md.
"""
