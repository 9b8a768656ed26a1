"""What the red-team tools' native readers share: the reader table, content detection and file helpers.

A native reader (one module per tool: garak, promptfoo, pyrit, harmbench, jailbreakbench, inspect_logs,
deepteam) exposes ``NAME``, ``detect(probe) -> bool`` and ``read(probe, options) -> Iterator[Row]``. Each
:class:`Row` is one canonical record's raw fields (validated later by ``etl.validate`` like every other
input) or a rejection reason, plus the tool's own record (for the rejected row's excerpt and for ``--map``
overrides). A file that cannot be read at all raises :class:`FileUnreadable` (one rejected row for the file).
Problems only the user can fix (a missing ``--behaviors`` file, a PyRIT database lacking columns the reader
needs) raise :class:`etl.errors.UserError`.

Field paths, polarity and detection rules per tool: ``../shared/data/tool-outputs/FORMATS.md`` (and each
module's docstring). ``success`` always means the attack worked, whatever the tool's polarity.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from etl import validate
from etl.errors import UserError
from etl.sources import files

SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"  # at byte offset 8 of a DuckDB database file
ZIP_MAGIC = b"PK\x03\x04"


class FileUnreadable(Exception):
    """The whole file cannot be read as the tool's format; the message is the rejection reason."""


@dataclass(slots=True)
class Row:
    """One record of a tool's output: canonical ``fields`` to validate, or the ``reason`` it is rejected.

    ``raw`` is the tool's own record (a dict where possible): the excerpt of a rejected row, and where
    ``--map CANONICAL=KEY`` looks ``KEY`` up (``a.b`` reaches into nested objects).
    """

    fields: dict[str, Any] | None
    raw: Any
    reason: str | None = None


@dataclass(frozen=True)
class Options:
    """Settings some readers need: ``behaviors`` (HarmBench CSV), ``success_when`` (inspect-ai), size cap."""

    behaviors: Path | None = None
    success_when: SuccessRule | None = None
    max_bytes: int = 2 * 1024**3
    warnings: list[str] = field(default_factory=list)


@dataclass
class Probe:
    """A file as detection sees it: its first raw bytes, and (text files) the sniffed, decompressed head."""

    path: Path
    magic: bytes
    sniffed: files.Sniffed | None

    @property
    def text(self) -> str:
        return "" if self.sniffed is None else self.sniffed.text.lstrip("\ufeff \t\r\n")

    @property
    def whole(self) -> bool:
        """True when the sniffed head is the whole file (so it can be parsed for an exact check)."""
        return self.sniffed is not None and len(self.sniffed.head) < files.SNIFF_BYTES

    @cached_property
    def head_json(self) -> Any:
        """The parsed file when the head is the whole file and valid JSON; else None."""
        if not self.whole or not self.text.startswith(("{", "[")):
            return None
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError):
            return None

    @cached_property
    def first_line_json(self) -> Any:
        line = self.text.split("\n", 1)[0]
        try:
            return json.loads(line)
        except (ValueError, RecursionError):
            return None

    @cached_property
    def zip_names(self) -> list[str] | None:
        if not self.magic.startswith(ZIP_MAGIC):
            return None
        try:
            with zipfile.ZipFile(self.path) as z:
                return z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return None


def probe(path: Path) -> Probe:
    """Read what detection needs from ``path`` (first bytes; text head unless it is a database or zip)."""
    with open(path, "rb") as f:
        magic = f.read(16)
    binary = magic.startswith((SQLITE_MAGIC, ZIP_MAGIC)) or magic[8:12] == DUCKDB_MAGIC
    return Probe(path, magic, None if binary else files.sniff(path))


def has_keys(text: str, *keys: str) -> bool:
    """True when every ``"key":`` appears in ``text`` (a head of JSON text; a cheap pre-check)."""
    return all(re.search(rf'"{re.escape(k)}"\s*:', text) for k in keys)


# --------------------------------------------------------------------------------------------- reading JSON


def read_text(p: Probe, max_bytes: int) -> str:
    """The whole decoded text of a text file, or :class:`FileUnreadable` when it breaks off or is not text."""
    s = p.sniffed
    if s is None:
        raise FileUnreadable("the file is not text (a database or archive)")
    if s.refused:
        raise FileUnreadable(s.refused)
    if s.not_text:
        raise FileUnreadable(s.not_text)
    chunks = files.TextChunks(p.path, s.compression, s.encoding, max_bytes)
    text = "".join(chunks)
    if chunks.error:
        raise FileUnreadable(chunks.error)
    return text


def read_json(p: Probe, max_bytes: int) -> Any:
    """The file parsed as one JSON value (lone surrogates replaced); :class:`FileUnreadable` when it is not."""
    text = read_text(p, max_bytes)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileUnreadable(f"the file is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
                             ) from None
    except (RecursionError, ValueError) as exc:
        raise FileUnreadable(f"the file cannot be read as JSON ({str(exc).split(';')[0]})") from None
    return validate.fix_surrogates(value)


def iter_json_lines(p: Probe, max_bytes: int) -> Iterator[tuple[Any, str | None, str]]:
    """(value, error, line text) per non-blank line of a JSON Lines file; a break in the data is a last error."""
    s = p.sniffed
    if s is None or s.refused or s.not_text:
        raise FileUnreadable((s and (s.refused or s.not_text)) or "the file is not text")
    chunks = files.TextChunks(p.path, s.compression, s.encoding, max_bytes)
    pending = ""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split("\n")
        for line in lines:
            if line.strip():
                yield _parse_line(line)
    if pending.strip():
        yield _parse_line(pending)
    if chunks.error:
        yield None, f"{chunks.error}; anything after that point could not be read", ""


def _parse_line(line: str) -> tuple[Any, str | None, str]:
    try:
        return validate.fix_surrogates(json.loads(line)), None, line
    except json.JSONDecodeError as exc:
        return None, f"the line is not valid JSON ({exc.msg} at column {exc.colno})", line
    except (RecursionError, ValueError) as exc:
        return None, f"the line cannot be read as JSON ({str(exc).split(';')[0]})", line


def get_path(record: Any, path: str, default: Any = None) -> Any:
    """``record[a][b]…`` for ``path`` = ``a.b…``; ``default`` when any step is missing or not an object."""
    node = record
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def text_of(value: Any) -> str | None:
    """Text of a message content: a string, or the text parts of a list of ``{type: text, text}`` parts."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return text_of(value.get("text", value.get("content")))
    if isinstance(value, list):
        parts = [text_of(v) for v in value]
        parts = [t for t in parts if t]
        return "\n".join(parts) if parts else None
    return None


def transcript_of(turns: list[tuple[str, str | None]]) -> str | None:
    """A ``\\n\\nHuman: … \\n\\nAssistant: …`` transcript from (role, text) turns; None for fewer than two turns.

    Roles user/human become Human; assistant/model/ai become Assistant; other roles (system, tool) are left out.
    """
    out = []
    for role, text in turns:
        who = {"user": "Human", "human": "Human", "assistant": "Assistant", "model": "Assistant",
               "ai": "Assistant"}.get(str(role).lower())
        if who is None or text is None:
            continue
        out.append(f"\n\n{who}: {text}")
    return "".join(out) if len(out) >= 2 else None


# --------------------------------------------------------------------------------------------- success rules

_RULE = re.compile(r"^\s*([A-Za-z_][\w./:-]*)\s*(==|=|!=|>=|<=|>|<)\s*(.+?)\s*$")


@dataclass(frozen=True)
class SuccessRule:
    """``NAME OP VALUE``: the attack succeeded when the score named NAME compares true with VALUE.

    NAME is ``score`` (the sample's first scorer) or a scorer's name; OP one of = != >= <= > <; VALUE a number
    (compared as numbers) or text (compared case-sensitively, = and != only), e.g. ``score=C``, ``match=I``,
    ``score>=0.5``.
    """

    name: str
    op: str
    value: str

    def test(self, scores: dict[str, Any]) -> bool | None:
        """Apply to a sample's scores ({scorer: value}); None when the named score is absent."""
        if self.name == "score":
            if not scores:
                return None
            got = next(iter(scores.values()))
        elif self.name in scores:
            got = scores[self.name]
        else:
            return None
        if got is None or isinstance(got, (dict, list)):
            return None
        target = _number(self.value)
        have = None if isinstance(got, bool) else _number(got)
        if target is not None and have is not None:
            return _compare(have, self.op, target)
        if self.op in ("=", "==", "!="):
            equal = str(got) == self.value
            return equal if self.op != "!=" else not equal
        return None


_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
}


def _compare(a: float, op: str, b: float) -> bool:
    return _OPS[op](a, b)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def parse_success_rule(rule: str | None) -> SuccessRule | None:
    """Parse ``--success-when``; raises UserError for a rule that is not ``NAME OP VALUE``."""
    if rule is None or not rule.strip():
        return None
    m = _RULE.match(rule)
    if not m:
        raise UserError(f"--success-when {rule!r} is not a rule like 'score=C', 'match=I' or 'score>=0.5' "
                        "(NAME OP VALUE, OP one of = != >= <= > <)")
    name, op, value = m.groups()
    if op not in ("=", "==", "!=") and _number(value) is None:
        raise UserError(f"--success-when {rule!r}: {op} needs a number to compare with, got {value!r}")
    return SuccessRule(name, op, value.strip("'\""))
