"""The spreadsheet exports: XLSX (one sheet per metric table plus the filtered attacks) and CSV (the
filtered attacks only, exactly the dashboard's CSV download).

Numbers are written unchanged from the queries (full precision; rates are fractions 0–1, shown as
percentages by the cell format). Every text cell goes through ``dashboard.safety`` so nothing a red-team
member typed can become a formula: XLSX is written with xlsxwriter with formula, URL and number
conversion of strings switched off, and text that a spreadsheet would still treat as a formula when
re-typed or re-imported (``=``, ``+``, ``-``, ``@``, tab, CR) gets a leading ``'``.
"""

from __future__ import annotations

import io
import math
from datetime import date, datetime

import polars as pl
import xlsxwriter

from dashboard.reports.content import ReportContent
from dashboard.reports.layout import corrections_text
from dashboard.safety import neutralise_formula, neutralise_frame, to_csv_bytes
from etl import domain

XLSX_MAX_CHARS = 32_767  # Excel's limit for one cell
SHEET_NAMES = {
    "priority": "Priority areas",
    "theme_metrics": "Theme metrics",
    "cluster_metrics": "Cluster metrics",
    "theme_by_model_type": "Theme x model type",
    "scaling": "Model type x size",
    "intervention_effects": "Intervention effects",
    "attacks": "Attacks",
    "mitigations": "Mitigation status",
}


def build_csv(c: ReportContent) -> bytes:
    """Every attack in scope (the columns of the dashboard's CSV download), UTF-8 with BOM."""
    if c.attacks is None:
        raise ValueError("CSV needs the attacks: gather(..., with_attacks=True)")
    return to_csv_bytes(c.attacks)


def _about_rows(c: ReportContent) -> list[tuple[str, object]]:
    s = c.snapshot
    rows: list[tuple[str, object]] = [
        ("Report", c.title),
        ("Generated (UTC)", c.generated_at.replace(tzinfo=None)),
        ("Build (run id)", s.run_id or "unknown"),
        ("Built at", s.finished_at or s.started_at),
        ("Code version", s.code_version),
        ("Demo data", "yes — numbers illustrate the product only" if s.is_demo else "no"),
        ("Attacks in the database", s.n_in_database),
        ("Attacks in this report", c.n_attacks),
        ("Filters", c.filters_text),
        ("Success means", c.success_definition),
        ("Priority weights", ", ".join(f"{k} {getattr(c.weights, k):g}" for k in domain.COMPONENTS)),
        ("Analyst corrections", corrections_text(c.corrections)),
    ]
    for f in s.inputs:
        rows.append(("Input file", f"{f.path} (sha256 {f.sha256}, {f.n_loaded} loaded)"))
    if c.is_empty:
        rows.append(("Note", "No attacks match these filters; the other sheets are empty."))
    rows.append(("Units", ("Rates and shares are fractions 0–1 (shown as %); rating 0–4; harmlessness: lower = "
                           "more harmful; every *_ci_low / *_ci_high is a 95 % interval (Wilson for rates).")))
    return rows


def build_xlsx(c: ReportContent) -> bytes:
    """The XLSX workbook of ``c``: an "About" sheet, one sheet per metric table, and the attacks in scope."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {
        "constant_memory": True,  # rows go to a temp file as written: less memory, inline strings
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "nan_inf_to_errors": False,
        "remove_timezone": True,
    })
    try:
        fmt = _formats(workbook)
        about = workbook.add_worksheet("About")
        about.set_column(0, 0, 26)
        about.set_column(1, 1, 100)
        for i, (key, value) in enumerate(_about_rows(c)):
            about.write_string(i, 0, key, fmt["bold"])
            _write(about, i, 1, value, fmt, "")
        frames = {
            "priority": c.priority,
            "theme_metrics": c.theme_metrics,
            "cluster_metrics": c.cluster_metrics,
            "theme_by_model_type": c.theme_by_model_type,
            "scaling": c.scaling,
            "intervention_effects": c.intervention_effects,
        }
        if c.mitigations is not None:
            frames["mitigations"] = c.mitigations
        if c.attacks is not None:
            frames["attacks"] = c.attacks
        for key, frame in frames.items():
            _sheet(workbook, SHEET_NAMES[key], frame, fmt)
    finally:
        workbook.close()
    return buffer.getvalue()


def _formats(workbook: xlsxwriter.Workbook) -> dict:
    return {
        "bold": workbook.add_format({"bold": True}),
        "head": workbook.add_format({"bold": True, "bg_color": "#F0F0F2", "bottom": 1}),
        "pct": workbook.add_format({"num_format": "0.0%"}),
        "num": workbook.add_format({"num_format": "0.000"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    }


def _kind(name: str, dtype: pl.DataType) -> str:
    rate_prefixes = ("share_", "success_ci", "reduction", "baseline_success", "resistance_ci")
    if dtype.is_float() and (name.endswith(("_rate", "_share")) or name.startswith(rate_prefixes)
                             or name == "relative_reduction"):
        return "pct"
    if dtype.is_float():
        return "num"
    return ""


def _sheet(workbook: xlsxwriter.Workbook, name: str, frame: pl.DataFrame, fmt: dict) -> None:
    sheet = workbook.add_worksheet(name)
    frame = neutralise_frame(frame)  # text cells only; list columns joined with "; "
    for j, col in enumerate(frame.columns):
        sheet.set_column(j, j, min(max(len(col) + 2, 10), 60))
        sheet.write_string(0, j, col, fmt["head"])
    # One writer per column, chosen once from its dtype (the frame has tens of thousands of rows).
    writers = [_column_writer(sheet, col, dtype, fmt) for col, dtype in frame.schema.items()]
    for i, row in enumerate(frame.iter_rows(), start=1):
        for j, value in enumerate(row):
            if value is not None:
                writers[j](i, j, value)
    sheet.freeze_panes(1, 0)
    if frame.height:
        sheet.autofilter(0, 0, frame.height, max(frame.width - 1, 0))


def _column_writer(sheet, name: str, dtype: pl.DataType, fmt: dict):
    if dtype == pl.Boolean:
        return sheet.write_boolean
    if dtype.is_integer():
        return sheet.write_number
    if dtype.is_float():
        cell_format = fmt.get(_kind(name, dtype))

        def number(i: int, j: int, value: float) -> None:
            if math.isfinite(value):
                sheet.write_number(i, j, value, cell_format)

        return number
    if dtype == pl.String:
        def text(i: int, j: int, value: str) -> None:
            # already neutralised by neutralise_frame; only Excel's cell limit is left to enforce
            sheet.write_string(i, j, value if len(value) <= XLSX_MAX_CHARS else value[: XLSX_MAX_CHARS - 1] + "…")

        return text
    return lambda i, j, value: _write(sheet, i, j, value, fmt, "")


def _write(sheet, i: int, j: int, value: object, fmt: dict, kind: str) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(i, j, value)
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return
        sheet.write_number(i, j, value, fmt.get(kind) if kind else None)
    elif isinstance(value, (datetime, date)):
        sheet.write_datetime(i, j, value, fmt["date"])
    else:
        text = neutralise_formula(str(value)) or ""
        if len(text) > XLSX_MAX_CHARS:
            text = text[: XLSX_MAX_CHARS - 1] + "…"
        sheet.write_string(i, j, text)
