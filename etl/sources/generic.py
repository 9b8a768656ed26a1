"""Record readers for the generic formats: JSON Lines, JSON array, CSV and Parquet.

Each reader turns a file's content into :class:`RawRecord` items, one per input record, good or bad, in file
order: a parsed record (normally a dict) or an ``error`` explaining why the record could not be read.
Mapping record keys to canonical fields and validating values happen later (``etl.sources.load``).

Format decisions:
- JSON Lines: one value per line; blank lines are not records. A line holding only ``{`` may start a
  pretty-printed object (``jq`` output, ``json.dumps(indent=…)``) continuing up to a line starting with ``}``
  (at most :data:`MAX_JOIN_LINES` lines); if that does not parse, its lines are read one by one.
  Control characters inside strings are accepted. Duplicate keys: the last one wins (Python's ``json``).
  ``NaN``/``Infinity`` literals are read, then rejected by validation where a number is expected.
- JSON array: streamed element by element with ``json.JSONDecoder.raw_decode`` over a growing text buffer, so
  memory holds one element at a time, not the whole file. A malformed element is rejected and reading resumes
  at the next ``, {`` that starts a well-formed element; a trailing comma before ``]`` is tolerated.
- Nesting deeper than Python's recursion limit (about 1,000 levels) and integers longer than 4,300 digits reject
  that record; they never crash the read.
- CSV: delimiter ``,`` ``;`` tab or ``|`` chosen from the header line; quoted fields may span lines; blank rows
  are not records. A row with more fields than the header is rejected unless the extra fields are empty; a row
  with fewer is rejected. Empty header names become ``column_<n>``, repeated ones get ``_2``, ``_3``.
- Parquet: read with polars; decimal columns become floats.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from etl import validate

MAX_JOIN_LINES = 10_000
MAX_JOIN_CHARS = 16 * 1024 * 1024
EXCERPT = 500
CSV_FIELD_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))

_WS = re.compile(r"[ \t\n\r]*")
_RESYNC = re.compile(r",[ \t\n\r]*\{")
# One token of a JSON value for skipping a value the decoder cannot build (too deep, too long a number):
# a string (possibly unterminated at the buffer's end), a bracket, or a comma.
_SKIP_TOKEN = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[\[\]{},]', re.DOTALL)
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(slots=True)
class RawRecord:
    """One input record as read: ``value`` (parsed) or ``error`` (why it could not be read).

    ``raw`` is up to :data:`EXCERPT` characters of the record's text (None: build it from ``value``);
    ``at_end`` marks the record that ran into the end of the data (a truncated file's last record).
    """

    value: Any = None
    raw: str | None = None
    error: str | None = None
    at_end: bool = False


def _has_surrogate_escape(text: str) -> bool:
    return "\\ud" in text or "\\uD" in text


def _decode_error_reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply to read (more than about 1,000 levels of lists/objects)"
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    return str(exc).split(";")[0]  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"


# --------------------------------------------------------------------------------------------- JSON Lines


def _lines(chunks: Iterable[str]) -> Iterator[tuple[int, str, bool]]:
    """(1-based line number, line without its newline or trailing \\r, whether a newline ended it)."""
    for n, (line, terminated) in enumerate(_split_lines(chunks), start=1):
        yield n, line.removesuffix("\r"), terminated


def _split_lines(chunks: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Lines without their \\n and whether one ended them; a line spanning many chunks is joined once (linear)."""
    pending: list[str] = []
    for chunk in chunks:
        if "\n" not in chunk:
            pending.append(chunk)
            continue
        parts = chunk.split("\n")
        if pending:
            pending.append(parts[0])
            parts[0] = "".join(pending)
            pending = []
        last = parts.pop()
        if last:
            pending.append(last)
        for line in parts:
            yield line, True
    if pending:
        yield "".join(pending), False


def _runs_off_end(exc: json.JSONDecodeError, text: str) -> bool:
    """True when the decoder failed because the value continues past ``text`` (not a genuine error in it)."""
    return exc.pos >= len(text.rstrip()) and not exc.msg.startswith("Unterminated string")


def iter_jsonl(chunks: Iterable[str]) -> Iterator[RawRecord]:
    """Records of a JSON Lines text."""
    lenient = json.JSONDecoder(strict=False)
    strict = json.JSONDecoder()
    lines = _lines(chunks)
    lookahead: deque[tuple[int, str, bool]] = deque()

    def next_line() -> tuple[int, str, bool] | None:
        return lookahead.popleft() if lookahead else next(lines, None)

    while (item := next_line()) is not None:
        no, line, terminated = item
        start = _WS.match(line).end()
        if start == len(line):
            continue
        try:
            value, end = lenient.raw_decode(line, start)
        except json.JSONDecodeError as exc:
            joined = _join_continuation(line, exc, next_line, lookahead, strict)
            if joined is not None:
                value, text, last_terminated = joined
                if _has_surrogate_escape(text):
                    value = validate.fix_surrogates(value)
                yield RawRecord(value, text[:EXCERPT], at_end=not last_terminated)
            else:
                yield RawRecord(None, line[:EXCERPT], f"line {no} is not valid JSON: {exc.msg} at column {exc.colno}",
                                at_end=not terminated)
            continue
        except (RecursionError, ValueError) as exc:
            yield RawRecord(None, line[:EXCERPT], f"line {no} could not be read: {_decode_error_reason(exc)}",
                            at_end=not terminated)
            continue
        tail = _WS.match(line, end).end()
        if tail != len(line):
            yield RawRecord(None, line[:EXCERPT],
                            f"line {no} is not valid JSON: unexpected data after the value at column {tail + 1}",
                            at_end=not terminated)
            continue
        if _has_surrogate_escape(line):
            value = validate.fix_surrogates(value)
        yield RawRecord(value, line[:EXCERPT], at_end=not terminated)


def _join_continuation(line, exc, next_line, lookahead, strict) -> tuple[Any, str, bool] | None:
    """Complete a pretty-printed object (a line holding only ``{``) with the lines that follow it.

    A parse is tried at each line starting with ``}``. Returns (value, joined text, whether the last line had a
    newline), or None, in which case every line taken is pushed back to be read one by one.
    """
    if line.strip() != "{" or not _runs_off_end(exc, line):
        return None
    taken: list[tuple[int, str, bool]] = []
    parts = [line]
    size = len(line)
    while len(taken) < MAX_JOIN_LINES and size < MAX_JOIN_CHARS:
        item = next_line()
        if item is None:
            break
        taken.append(item)
        parts.append(item[1])
        size += len(item[1]) + 1
        if not item[1].lstrip().startswith("}"):
            continue
        text = "\n".join(parts)
        try:
            value, end = strict.raw_decode(text, _WS.match(text).end())
        except json.JSONDecodeError as exc2:
            if _runs_off_end(exc2, text):
                continue
            break
        except (RecursionError, ValueError):
            break
        if _WS.match(text, end).end() == len(text):
            return value, text, item[2]
        break
    lookahead.extendleft(reversed(taken))
    return None


# --------------------------------------------------------------------------------------------- JSON array


class _ArrayReader:
    """Stream the elements of one top-level JSON array from text chunks.

    ``buf[pos:]`` is the unread text. Reading more (``_grow``) drops ``buf[:pos]``, so while an element is being
    examined ``pos`` stays at its start and other offsets are kept relative to ``pos``.
    """

    def __init__(self, chunks: Iterable[str]) -> None:
        self.chunks = iter(chunks)
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder(strict=False)
        self.index = 0  # records produced so far (good or bad)

    def _grow(self, at_least: int = 1) -> bool:
        """Drop consumed text and append at least ``at_least`` characters; False when the data has ended."""
        if self.eof:
            return False
        parts = [self.buf[self.pos:]]
        got = 0
        while got < at_least:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.eof = True
                break
            parts.append(chunk)
            got += len(chunk)
        self.buf = "".join(parts)
        self.pos = 0
        return got > 0

    def _double(self) -> bool:
        # Growing geometrically keeps re-parsing a long element linear in its size.
        return self._grow(max(len(self.buf) - self.pos, 1))

    def _skip_ws(self) -> bool:
        """Move past whitespace; False when the data ends."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return True
            if not self._grow():
                return False

    def _reject(self, end: int, reason: str, at_end: bool = False) -> RawRecord:
        """Reject ``buf[pos:end]`` as one record and move past it."""
        self.index += 1
        raw = self.buf[self.pos:min(end, self.pos + EXCERPT)]
        self.pos = end
        return RawRecord(None, raw, reason, at_end=at_end)

    def __iter__(self) -> Iterator[RawRecord]:
        if not self._skip_ws() or self.buf[self.pos] != "[":
            yield self._reject(len(self.buf), "the file does not start with a JSON array")
            return
        self.pos += 1
        while True:
            if not self._skip_ws():
                yield RawRecord(None, "", "the file ends before the JSON array is closed", at_end=True)
                return
            if self.buf[self.pos] == "]":  # also accepts a trailing comma before ]
                break
            record = self._element()
            yield record
            if record.at_end:
                return
            if not self._skip_ws():
                yield RawRecord(None, "", "the file ends before the JSON array is closed", at_end=True)
                return
            c = self.buf[self.pos]
            if c == ",":
                self.pos += 1
            elif c == "]":
                break
            else:
                record = self._resync(f"expected ',' or ']' after record {self.index - 1} but found {c!r}")
                yield record
                if record.at_end:
                    return
                self.pos += 1  # the comma before the next element
        self.pos += 1
        if self._skip_ws():
            yield self._reject(len(self.buf), "unexpected data after the end of the JSON array; it was not read")
            self.pos = len(self.buf)

    def _element(self) -> RawRecord:
        while True:
            start = self.pos
            try:
                value, end = self.decoder.raw_decode(self.buf, start)
            except json.JSONDecodeError as exc:
                if not self.eof and (exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buf) - 16):
                    self._double()
                    continue
                if self.eof and (exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buf.rstrip())):
                    return self._reject(len(self.buf), f"record {self.index} is cut off by the end of the file",
                                        at_end=True)
                line, col = _line_col(self.buf, start, exc.pos)
                return self._resync(f"record {self.index} is not valid JSON: {exc.msg} "
                                    f"(line {line} column {col} of the record)")
            except (RecursionError, ValueError) as exc:
                return self._skip_value(f"record {self.index} could not be read: {_decode_error_reason(exc)}")
            if end == len(self.buf) and not self.eof:
                self._double()  # a number or literal may continue in the next chunk
                continue
            self.index += 1
            self.pos = end
            if self.buf.find("\\ud", start, end) >= 0 or self.buf.find("\\uD", start, end) >= 0:
                value = validate.fix_surrogates(value)
            return RawRecord(value, self.buf[start:min(end, start + EXCERPT)])

    def _resync(self, reason: str) -> RawRecord:
        """Reject the text from ``pos`` up to the next ``, {`` that starts an element that parses."""
        rel_from = 1
        while True:
            m = _RESYNC.search(self.buf, self.pos + rel_from)
            if m is None:
                if self._double():
                    continue
                return self._reject(len(self.buf), reason + "; the rest of the array could not be read", at_end=True)
            candidate = m.end() - 1
            try:
                _, end = self.decoder.raw_decode(self.buf, candidate)
            except json.JSONDecodeError as exc:
                if not self.eof and (exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buf) - 16):
                    rel_from = m.start() - self.pos
                    self._double()
                    continue
                rel_from = m.end() - self.pos
                continue
            except (RecursionError, ValueError):
                rel_from = m.end() - self.pos
                continue
            after = _WS.match(self.buf, end).end()
            if after >= len(self.buf) and not self.eof:
                rel_from = m.start() - self.pos
                self._double()
                continue
            if after < len(self.buf) and self.buf[after] in ",]":
                return self._reject(m.start(), reason)  # stop at the comma before the next element
            rel_from = m.end() - self.pos

    def _skip_value(self, reason: str) -> RawRecord:
        """Reject the one JSON value at ``pos`` without building it (too deep, too long a number)."""
        rel, depth = 0, 0
        while True:
            m = _SKIP_TOKEN.search(self.buf, self.pos + rel)
            tok = m.group() if m else ""
            if m is None or (tok[0] == '"' and (len(tok) == 1 or tok[-1] != '"' or _odd_backslashes_before(tok))):
                rel = (m.start() if m else len(self.buf)) - self.pos
                if self._double():
                    continue
                return self._reject(len(self.buf), reason, at_end=True)
            if tok in "[{":
                depth += 1
            elif tok in "]}":
                depth -= 1
            if depth <= 0 and (tok in ",]}" or tok[0] == '"'):
                end = m.start() if (tok == "," or depth < 0) else m.end()
                return self._reject(end, reason)
            rel = m.end() - self.pos


def _odd_backslashes_before(token: str) -> bool:
    """True when the closing quote of ``token`` is escaped (the string actually continues)."""
    n = 0
    i = len(token) - 2
    while i > 0 and token[i] == "\\":
        n += 1
        i -= 1
    return n % 2 == 1


def _line_col(buf: str, start: int, pos: int) -> tuple[int, int]:
    line = buf.count("\n", start, pos) + 1
    col = pos - (buf.rfind("\n", start, pos) + 1 if line > 1 else start) + 1
    return line, col


def iter_json_array(chunks: Iterable[str]) -> Iterator[RawRecord]:
    """Elements of a text holding one top-level JSON array (streamed; one element in memory at a time)."""
    return iter(_ArrayReader(chunks))


# --------------------------------------------------------------------------------------------- CSV


def detect_delimiter(first_line: str) -> str:
    """The delimiter among , ; tab | that occurs most often outside quotes in the header line (default ,)."""
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _normalise_newlines(chunks: Iterable[str]) -> Iterator[str]:
    """Turn \\r\\n and lone \\r into \\n (a \\r at a chunk's end waits for the next chunk)."""
    carry = ""
    for chunk in chunks:
        chunk = carry + chunk
        carry = ""
        if chunk.endswith("\r"):
            carry, chunk = "\r", chunk[:-1]
        if "\r" in chunk:
            chunk = chunk.replace("\r\n", "\n").replace("\r", "\n")
        if chunk:
            yield chunk
    if carry:
        yield "\n"


class CsvReader:
    """Rows of a CSV text as dicts keyed by the (cleaned) header; ``columns`` is set on construction."""

    def __init__(self, chunks: Iterable[str], delimiter: str = ",") -> None:
        self._consumed: list[str] = []
        self._line_iter = self._track(chunks)
        self._reader = csv.reader(self._line_iter, delimiter=delimiter)
        self.columns: list[str] = []
        self.header_error: str | None = None
        try:
            header = next(self._reader, None)
            while header is not None and not any(f.strip() for f in header):  # blank lines before the header
                header = next(self._reader, None)
        except csv.Error as exc:
            header, self.header_error = None, f"the CSV header could not be read: {exc}"
        self.header_complete = bool(self._consumed) and self._consumed[-1].endswith("\n")
        self._consumed.clear()
        if header is not None:
            self.columns = _clean_header(header)

    def _track(self, chunks: Iterable[str]) -> Iterator[str]:
        """Lines with their \\n for the csv module, remembered in ``_consumed`` for the row's excerpt."""
        for line, terminated in _split_lines(_normalise_newlines(chunks)):
            if terminated:
                line += "\n"
            self._consumed.append(line)
            yield line

    def __iter__(self) -> Iterator[RawRecord]:
        width = len(self.columns)
        columns = self.columns
        consumed = self._consumed
        row_no = 0
        while True:
            try:
                row = next(self._reader, None)
            except csv.Error as exc:
                raw = "".join(consumed)[:EXCERPT]
                consumed.clear()
                yield RawRecord(None, raw, f"data row {row_no} could not be read as CSV ({exc}); "
                                          "the rest of the file was not read", at_end=True)
                return
            if row is None:
                return
            at_end = bool(consumed) and not consumed[-1].endswith("\n")
            if not row or all(not f.strip() for f in row):
                consumed.clear()
                continue
            row_no += 1
            if len(row) != width:
                if len(row) > width and all(not f.strip() for f in row[width:]):
                    row = row[:width]
                else:
                    raw = "".join(consumed)[:EXCERPT]
                    consumed.clear()
                    reason = f"the row has {_n(len(row), 'field')} but the header has {_n(width, 'column')}"
                    yield RawRecord(None, raw, reason, at_end=at_end)
                    continue
            raw = consumed[0][:EXCERPT] if len(consumed) == 1 else "".join(consumed)[:EXCERPT]
            consumed.clear()
            yield RawRecord(dict(zip(columns, row, strict=True)), raw, at_end=at_end)


def _n(k: int, noun: str) -> str:
    return f"{k} {noun}" if k == 1 else f"{k} {noun}s"


def _clean_header(header: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(header):
        name = name.strip().lstrip("\ufeff") or f"column_{i + 1}"
        base, k = name, 1
        while name in seen:
            k += 1
            name = f"{base}_{k}"
        seen.add(name)
        out.append(name)
    return out


# --------------------------------------------------------------------------------------------- Parquet


def read_parquet(source: Any) -> pl.DataFrame:
    """A Parquet file (path or binary file object) as a frame, decimals cast to floats."""
    df = pl.read_parquet(source)
    decimals = [name for name, dtype in df.schema.items() if isinstance(dtype, pl.Decimal)]
    if decimals:
        df = df.with_columns(pl.col(decimals).cast(pl.Float64))
    return df


def iter_frame(df: pl.DataFrame) -> Iterator[RawRecord]:
    """Rows of a frame as records (``raw`` left None: excerpts are built only for rejected rows)."""
    for row in df.iter_rows(named=True):
        yield RawRecord(row)


def dump_excerpt(value: Any) -> str:
    """A JSON rendering of ``value`` (for excerpts of records read from Parquet), at most :data:`EXCERPT` chars."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:EXCERPT]
    except (ValueError, TypeError, RecursionError):
        return repr(value)[:EXCERPT]


def bytes_source(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
