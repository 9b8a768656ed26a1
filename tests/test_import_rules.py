"""The import boundaries of docs/architecture.md, each checked in a fresh interpreter (so that nothing another
test imported counts):

- the query layer (``sql.database``, ``sql.priority``) and the domain constants load no Streamlit, no plotly,
  no dashboard module and no pipeline stage;
- the UI (every dashboard page, rendered through Streamlit's AppTest on the fixture database, the report
  builder writing an HTML report with its charts, and the CLI module) never loads torch, umap or hdbscan
  (nor sentence-transformers, which would pull torch in);
- the ETL's light modules (store, schema, metrics, the CLI) never load Streamlit or the dashboard;
- the analysts' annotations (store, overlay, carry-over, export/import) load no UI and no pipeline stage.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "umap", "hdbscan", "sentence_transformers")
UI = ("streamlit", "plotly", "dashboard")


def loaded_after(code: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> set[str]:
    """Top-level package names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    run_env = {k: v for k, v in os.environ.items() if k != "REDTEAM_RISK_PASSWORD"}  # no sign-in form
    run_env.update(PYTHONPATH=str(REPO), **(env or {}))
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=run_env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", ["sql.database", "sql.priority", "sql.filters", "etl.domain"])
def test_the_query_layer_loads_no_ui_and_no_pipeline_stage(module):
    loaded = loaded_after(f"import {module}")
    assert not loaded & {*UI, *HEAVY}, f"import {module} loads {sorted(loaded & {*UI, *HEAVY})}"


@pytest.mark.parametrize("module", ["annotations.store", "annotations.overlay", "annotations.carry",
                                    "annotations.transfer"])
def test_the_annotations_load_no_ui_and_no_pipeline_stage(module):
    loaded = loaded_after(f"import {module}")
    assert not loaded & {*UI, *HEAVY}, f"import {module} loads {sorted(loaded & {*UI, *HEAVY})}"


@pytest.mark.parametrize("module", ["etl.store", "etl.schema", "etl.metrics", "etl.cli"])
def test_the_etl_entry_modules_load_no_ui(module):
    loaded = loaded_after(f"import {module}")
    assert not loaded & {"streamlit", "dashboard"}, f"import {module} loads {sorted(loaded & {'streamlit', 'dashboard'})}"


def test_a_report_is_built_without_streamlit(tmp_path):
    """The CLI's path: a report with charts from a database file, with no Streamlit (nor its plotly template)."""
    code = f"""
from pathlib import Path
from tests.fixture_db import write_fixture_db
from dashboard.reports import build_report_bytes
from sql.filters import Filters

db = write_fixture_db(Path({str(tmp_path / "risk.duckdb")!r}), n_per_cell=3)
assert build_report_bytes(db, Filters(), "html") and build_report_bytes(db, Filters(), "md")
"""
    loaded = loaded_after(code)
    assert "plotly" in loaded and "streamlit" not in loaded
    assert not loaded & set(HEAVY), f"the reports load {sorted(loaded & set(HEAVY))}"


def test_the_dashboard_pages_and_the_reports_never_load_the_models(tmp_path):
    """Every page rendered (AppTest), a report with charts built, the CLI imported: no torch, umap or hdbscan."""
    db = tmp_path / "risk.duckdb"
    code = f"""
from pathlib import Path
from streamlit.testing.v1 import AppTest

from tests.fixture_db import write_fixture_db

db = write_fixture_db(Path({str(db)!r}), n_per_cell=3)
import os
os.environ["REDTEAM_RISK_DB"] = str(db)

from dashboard.app import PAGES

at = AppTest.from_file({str(REPO / "dashboard" / "app.py")!r}, default_timeout=120)
at.run()
for page, _, _ in PAGES:
    at.switch_page(f"app_pages/{{page}}")
    at.run()
    assert not at.exception, (page, [e.value for e in at.exception])

from dashboard.reports import build_report_bytes
from sql.filters import Filters

assert build_report_bytes(db, Filters(), "html")
import etl.cli  # noqa: F401
"""
    loaded = loaded_after(code)
    assert "streamlit" in loaded and "dashboard" in loaded  # the pages did run
    assert not loaded & set(HEAVY), f"the UI loads {sorted(loaded & set(HEAVY))}"
