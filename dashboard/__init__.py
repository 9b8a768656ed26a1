"""The read-only Streamlit dashboard: ``app.py`` (navigation), ``app_pages/`` (one file per page), ``data.py``
(Streamlit caching over the query layer ``sql.database``; pages never import duckdb), ``charts.py`` (pure plotly
chart functions shared with the reports)."""
