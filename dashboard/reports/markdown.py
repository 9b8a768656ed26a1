"""The Markdown report: summary and tables for pasting into tickets (GitHub / GitLab / Jira flavours).

Every piece of data text is escaped: punctuation that Markdown or HTML gives meaning to gets a backslash
(CommonMark renders ``\\*`` as ``*``), ``|`` cannot end a table cell, line breaks inside a cell become
spaces, and ``@`` / ``://`` cannot ping a user or make a link. No charts (tickets show them poorly); the
HTML/PDF reports have them.
"""

from __future__ import annotations

import re

from dashboard.reports.content import ReportContent
from dashboard.reports.layout import Table, layout

# Characters with a meaning anywhere in a line in CommonMark/GFM (emphasis, code, links, HTML, tables,
# strikethrough, math, @mentions, entities); all are backslash-escapable.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$@!#])")
# ...and at the start of a line (lists, quotes), where the text may begin.
_LEADING = re.compile(r"^(?:[-+]|\d+[.)])(?=\s|$)")


def escape(text: str) -> str:
    """``text`` safe as Markdown inline content: specials backslash-escaped, line breaks as spaces, bare
    links defused (``http\\://``) so data text cannot become a clickable link."""
    text = " ".join(str(text).split())
    text = _SPECIAL.sub(r"\\\1", text)
    text = text.replace("://", "\\://")
    return _LEADING.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text)


def _table(t: Table) -> list[str]:
    lines = [f"## {escape(t.title)}", ""]
    if t.intro:
        lines += [escape(t.intro), ""]
    if not t.rows:
        return lines + ["No rows for this selection.", ""]
    lines.append("| " + " | ".join(escape(c.label) for c in t.columns) + " |")
    lines.append("|" + "|".join("---:" if c.align == "num" else "---" for c in t.columns) + "|")
    for row in t.rows:
        cells = [escape(cell) for cell in row.cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if t.note:
        lines += [f"_{escape(t.note)}_", ""]
    return lines


def build_markdown(c: ReportContent) -> str:
    """The Markdown report of ``c`` (UTF-8 text)."""
    v = layout(c)
    s = v.snapshot
    out = [f"# {escape(v.title)}", "", f"Generated {escape(v.generated_at_text)}", ""]
    if s.is_demo:
        out += [("> **Demo data\\.** Built from the bundled demonstration database, not from your own red\\-team "
                 "results\\."), ""]
    out += [
        "## Data snapshot", "",
        f"- Build \\(run id\\): `{s.run_id.replace('`', 'ˋ')}`"
        + (f", built {escape(s.finished_at_text)}" if s.finished_at_text else ""),
        f"- Attacks in the database: {escape(s.n_loaded_text)}; in this report: {escape(v.n_attacks_text)}",
        f"- Filters: {escape('; '.join(v.filters_text))}",
        f"- Priority weights: {escape(v.weights_text)}",
    ]
    for f in s.inputs:
        out.append(f"- Input {escape(f.path)}: sha256 `{f.sha256.replace('`', 'ˋ')}`, {escape(f.n_loaded_text)} loaded")
    out.append("")
    if v.is_empty:
        out += ["## No attacks match these filters", "",
                ("The selection contains no attacks, so there is nothing to rank\\. Widen the filters and build the "
                 "report again\\."), ""]
        return "\n".join(out)
    out += ["## Executive summary", "", escape(v.summary_text), ""]
    for a in v.top:
        out.append(f"{a.rank}\\. **{escape(a.name)}** — score {escape(a.score_text)}  ")
        out.append(f"   {escape(a.explanation)}  ")
        out.append("   " + escape("; ".join(f"{comp.label}: {comp.text}" for comp in a.components)) + "  ")
        out.append(f"   {escape(a.ci_text)}")
    out.append("")
    for t in v.tables:
        out += _table(t)
    out += ["## Methodology and caveats", ""]
    for note in v.methodology:
        out += [f"**{escape(note.title)}\\.** {escape(note.text)}", ""]
    return "\n".join(out) + "\n"
