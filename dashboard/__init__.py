"""The read-only Streamlit dashboard: ``app.py`` (navigation), ``app_pages/`` (one file per page), ``data.py`` (the
only module that talks to DuckDB), ``charts.py`` (pure plotly chart functions shared with the reports)."""
