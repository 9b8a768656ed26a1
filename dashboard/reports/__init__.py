"""Stakeholder risk reports from a published database: PDF, offline HTML, XLSX, CSV and Markdown.

    build_report(con, filters, "pdf", Path("risk.pdf"), top=5, weights=None)   # CLI: writes a file
    build_report_bytes(con, filters, "html")                                   # dashboard: download button

Every format renders one ``content.ReportContent`` whose numbers come from the query layer
(``sql.database.Queries``, the dashboard's queries) and whose charts are the dashboard's plotly figures
(``dashboard.charts``), so a report shows what the dashboard shows for the same filters. Formats: see ``FORMATS``; docs/reports.md describes
what each contains.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import duckdb

from dashboard.reports.content import DEFAULT_TOP, ReportContent, gather
from etl.errors import UserError
from etl.domain import Weights
from sql.database import open_read_only
from sql.filters import Filters

log = logging.getLogger("redteam_risk.reports")

# format -> (file extension, media type)
FORMATS: dict[str, tuple[str, str]] = {
    "pdf": (".pdf", "application/pdf"),
    "html": (".html", "text/html"),
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": (".csv", "text/csv"),
    "md": (".md", "text/markdown"),
}


def _check_format(fmt: str) -> str:
    key = str(fmt).strip().lower().lstrip(".")
    key = {"markdown": "md", "htm": "html", "excel": "xlsx"}.get(key, key)
    if key not in FORMATS:
        raise UserError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return key


def render(content: ReportContent, fmt: str) -> bytes:
    """``content`` in format ``fmt`` as bytes (``content`` must hold the attacks for xlsx/csv)."""
    fmt = _check_format(fmt)
    if fmt == "pdf":
        from dashboard.reports.pdf import build_pdf

        return build_pdf(content)
    if fmt == "html":
        from dashboard.reports.html import build_html

        return build_html(content).encode("utf-8")
    if fmt == "md":
        from dashboard.reports.markdown import build_markdown

        return build_markdown(content).encode("utf-8")
    from dashboard.reports import tables

    return tables.build_xlsx(content) if fmt == "xlsx" else tables.build_csv(content)


def build_report_bytes(
    con: duckdb.DuckDBPyConnection | str | Path,
    filters: Filters | None,
    fmt: str,
    *,
    top: int = DEFAULT_TOP,
    weights: Weights | Mapping[str, float] | None = None,
    compare: tuple[Filters, Filters, str] | None = None,
) -> bytes:
    """The report of the attacks in ``filters`` (None = all) in ``fmt`` (``pdf`` | ``html`` | ``xlsx`` |
    ``csv`` | ``md``) as bytes. ``top``: priority areas explained in the summary; ``weights``: priority
    weights (``etl.domain.Weights`` or a mapping such as ``{"success": 0.5}``; None = defaults);
    ``compare``: (scope A, scope B, pair_on) adds the comparison section (the CSV is then the comparison table).
    ``con``: an open (read-only is enough) connection or cursor used by this thread only, or the path of a
    published database, opened read-only for this call (handy from a thread without one, e.g. a
    Streamlit ``download_button(data=callable)``). Raises ``UserError`` for a bad format/top/weight or,
    for PDF, when no font or no browser is installed (``unavailable`` says so before anyone asks)."""
    fmt = _check_format(fmt)
    if isinstance(con, (str, Path)):
        path = Path(con).expanduser()
        if not path.is_file():
            raise UserError(f"the database file {path} does not exist")
        # ATTACH (as the dashboard does), not connect(path): see sql.database.open_read_only.
        own = open_read_only(path)
        try:
            return build_report_bytes(own, filters, fmt, top=top, weights=weights, compare=compare)
        finally:
            own.close()
    if fmt == "pdf":
        from dashboard.reports.pdf import require_tools

        require_tools()  # before the queries: fail fast
    t0 = time.perf_counter()
    content = gather(con, filters, top=top, weights=weights,
                     with_charts=fmt in ("pdf", "html"),
                     with_attacks=fmt == "xlsx" or (fmt == "csv" and compare is None), compare=compare)
    data = render(content, fmt)
    log.info("reports: %s built in %.2f s (%d bytes, %d attacks)", fmt, time.perf_counter() - t0, len(data),
             content.n_attacks)
    return data


def unavailable(fmt: str) -> str | None:
    """Why ``fmt`` cannot be built on this machine, as the one line ``build_report_bytes`` would raise, or None
    when it can (only PDF needs anything beyond Python: a font and a browser)."""
    if _check_format(fmt) != "pdf":
        return None
    from dashboard.reports.pdf import require_tools

    try:
        require_tools()
    except UserError as exc:
        return str(exc)
    return None


def build_report(
    con: duckdb.DuckDBPyConnection | str | Path,
    filters: Filters | None,
    fmt: str,
    out: Path | str,
    *,
    top: int = DEFAULT_TOP,
    weights: Weights | Mapping[str, float] | None = None,
    compare: tuple[Filters, Filters, str] | None = None,
) -> Path:
    """Write the report (see ``build_report_bytes``) to ``out`` atomically and return its path. ``out``
    may be a directory: the file is then ``redteam-risk-report.<ext>`` inside it."""
    fmt = _check_format(fmt)
    out = Path(out).expanduser()
    if out.is_dir():
        out = out / f"redteam-risk-report{FORMATS[fmt][0]}"
    if not out.parent.is_dir():
        raise UserError(f"cannot write the report to {out}: the folder {out.parent} does not exist")
    data = build_report_bytes(con, filters, fmt, top=top, weights=weights, compare=compare)
    # Write beside the target and rename, so a reader never sees half a report.
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("reports: wrote %s", out)
    return out


__all__ = ["FORMATS", "ReportContent", "build_report", "build_report_bytes", "gather", "render", "unavailable"]
