"""Ingest: read input files into canonical attacks, their turns, and the rows that could not be loaded.

:func:`load` is the stage's entry point. Per file it detects compression, encoding and container by content
(``files``), reads records (``generic``), maps record keys to canonical fields (the ``anthropic`` preset, the
user's ``mapping``, else keys named like a canonical field), validates them (``etl.validate``) and collects
column lists that become one polars frame per few thousand records.

Outcomes a user sees:
- Every record read ends up in ``attacks`` or in ``rejected`` (file, 0-based row, reason, raw excerpt), so per
  file ``n_read == n_loaded + n_rejected``. Exact duplicates are loaded with id ``<id>~<k>`` and flagged.
- A file that cannot be read as data at all (empty, a zip archive, binary, unreadable Parquet) is one rejected
  row with ``source_row`` null. A read that breaks midway (truncated or corrupt compressed data, more than
  ``max_decompressed_bytes`` decompressed) keeps the records before the break and rejects one row for the break.
- Problems only the user can fix raise :class:`etl.errors.UserError`: a missing file, an unknown ``fmt`` or
  mapping field, a mapping naming a column a generic file lacks, a file with no column that can give
  ``attack_text``. A file read as the Anthropic format needs no mapping: mapped keys it has override the
  preset, mapped keys it lacks are ignored (so one ``--map`` can serve a mixed list of inputs).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from etl import validate
from etl.domain import DEFAULT_SUCCESS_THRESHOLD
from etl.errors import UserError
from etl.schema import ATTACK_COLUMNS, REJECTED_COLUMNS, TURN_COLUMNS
from etl.sources import (anthropic, deepteam, files, garak, generic, harmbench, inspect_logs, jailbreakbench, native,
                         promptfoo, pyrit)

log = logging.getLogger("redteam_risk.ingest")

# Native readers of red-team tools, in detection order (name -> module; see etl/sources/native.py).
NATIVE_READERS = {m.NAME: m for m in (garak, promptfoo, pyrit, harmbench, jailbreakbench, inspect_logs, deepteam)}
GENERIC_FORMATS = ("anthropic", "csv", "jsonl", "json", "parquet")
FORMATS = ("auto", *GENERIC_FORMATS, *NATIVE_READERS)
DEFAULT_DATASET = "default"
FLUSH_ROWS = 8192
_COMPRESSION_SUFFIXES = {".gz", ".gzip", ".bz2", ".xz"}
_PEEK_LIMIT = 1000


@dataclass
class InputStats:
    """Counts for one input file. ``n_read == n_loaded + n_rejected``; duplicates are among the loaded."""

    path: str
    sha256: str  # of the file as stored on disk
    n_read: int
    n_loaded: int
    n_rejected: int
    n_duplicates: int
    format: str  # the reader used: anthropic | csv | jsonl | json | parquet | a tool (garak, …) | unreadable
    compression: str = "none"  # none | gzip | bzip2 | xz
    encoding: str = "utf-8"
    note: str | None = None  # why a file found in a directory was not read (n_read is then 0)


@dataclass
class Ingested:
    attacks: pl.DataFrame  # etl.schema.ATTACK_COLUMNS
    turns: pl.DataFrame  # etl.schema.TURN_COLUMNS
    rejected: pl.DataFrame  # etl.schema.REJECTED_COLUMNS
    inputs: list[InputStats]


def load(
    paths: list[Path],
    fmt: str = "auto",
    mapping: dict[str, str] | None = None,
    *,
    dataset: str | None = None,
    success_threshold: float = DEFAULT_SUCCESS_THRESHOLD,
    max_decompressed_bytes: int = 2 * 1024**3,
    behaviors: Path | None = None,
    success_when: str | None = None,
    progress: bool = True,
) -> Ingested:
    """Read ``paths`` (files, or directories: every file of a known format under them) in order into frames.

    ``fmt``: one of :data:`FORMATS`; ``auto`` picks the reader from the content (a red-team tool's native
    output, Parquet magic, compression, JSON array/JSON Lines, the Anthropic keys, else CSV by content or
    extension). ``mapping``: {canonical field: source column or key (``a.b`` reaches into nested JSON objects)};
    for a tool's output, mapped keys a record has override what the reader derived. ``dataset``: the identity
    hashed into ``attack_id`` (default ``anthropic-red-team`` for the Anthropic reader, the tool's name for a
    tool's output, else ``default``). ``success_threshold``: on the 0–4 rating scale. ``max_decompressed_bytes``:
    cap for compressed inputs. ``behaviors``: HarmBench's behaviours CSV. ``success_when``: the rule that makes
    an inspect-ai sample a successful attack (``score=C``; see :class:`native.SuccessRule`).
    """
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    mapping = _check_mapping(mapping or {})
    if behaviors is not None and not Path(behaviors).is_file():
        raise UserError(f"--behaviors {behaviors}: the file does not exist")
    options = native.Options(behaviors=Path(behaviors) if behaviors is not None else None,
                             success_when=native.parse_success_rule(success_when), max_bytes=max_decompressed_bytes)
    expanded = expand_inputs(paths, fmt)
    t0 = time.perf_counter()
    log.info("ingest: start, %d file(s), format %s", len(expanded.files), fmt)
    out = _Collector()
    inputs = [
        _load_file(Path(p), fmt, mapping, dataset, success_threshold, max_decompressed_bytes, progress, out, options)
        for p in expanded.files
    ]
    inputs += [InputStats(str(p), files.sha256_file(p), 0, 0, 0, 0, kind, note=note)
               for p, kind, note in expanded.skipped]
    attacks, turns, rejected = out.frames()
    log.info("ingest: done in %.2f s: %d loaded, %d rejected, %d duplicates", time.perf_counter() - t0,
             attacks.height, rejected.height, sum(s.n_duplicates for s in inputs))
    return Ingested(attacks, turns, rejected, inputs)


@dataclass
class Expanded:
    """Input files in reading order, and files found in a directory but not read: (path, format, why)."""

    files: list[Path]
    skipped: list[tuple[Path, str, str]]


def expand_inputs(paths: Iterable[Path], fmt: str = "auto") -> Expanded:
    """Replace each directory in ``paths`` by the files under it that a reader recognises by content.

    Files are taken in sorted path order; hidden files and folders are left out. In a directory only a
    red-team tool's output or the Anthropic format is recognised (a generic CSV/JSON file may be anything;
    name it to read it). JailbreakBench summary files (``evaluation.json``, ``submission.json``) beside
    model artifact folders repeat the model files' jailbreaks and are skipped so each is counted once.
    Files given by name are kept as given (a missing one raises UserError when it is read).
    """
    out = Expanded([], [])
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            out.files.append(path)
            continue
        found = [f for f in sorted(path.rglob("*")) if f.is_file()
                 and not any(part.startswith(".") for part in f.relative_to(path).parts)]
        kinds = {f: _directory_kind(f, fmt) for f in found}
        for f in found:
            kind = kinds[f]
            if kind is None:
                log.info("ingest: %s: not a known red-team tool format; skipped (name the file to read it)", f)
                continue
            duplicate_of = jailbreakbench.summary_duplicates(f, [g for g, k in kinds.items()
                                                                 if k == jailbreakbench.NAME])
            if kind == jailbreakbench.NAME and duplicate_of:
                note = (f"a JailbreakBench summary file: its jailbreaks are the ones in {duplicate_of}, "
                        "read from there")
                log.info("ingest: %s: skipped, %s", f, note)
                out.skipped.append((f, kind, note))
                continue
            out.files.append(f)
    if not out.files and not out.skipped:
        raise UserError(f"no input file of a known format found in {', '.join(str(p) for p in paths)}")
    return out


def _directory_kind(path: Path, fmt: str) -> str | None:
    """The reader for a file found in a directory: a native reader's name, ``anthropic``, or None (skip)."""
    try:
        p = native.probe(path)
    except OSError:
        return None
    name = _detect_native(p) if fmt in ("auto", *NATIVE_READERS) else None
    if fmt in NATIVE_READERS:
        return fmt if name == fmt else None
    if name is not None:
        return name
    if fmt in ("auto", "anthropic") and p.text.startswith(("{", "[")) and native.has_keys(p.text, "transcript") \
            and (native.has_keys(p.text, "num_params") or native.has_keys(p.text, "min_harmlessness_score_transcript")):
        return "anthropic"
    return None


def _detect_native(p: native.Probe) -> str | None:
    for name, reader in NATIVE_READERS.items():
        try:
            if reader.detect(p):
                return name
        except Exception:  # noqa: BLE001 - detection of hostile content must never crash; try the next reader
            log.debug("ingest: %s: %s detection failed", p.path, name, exc_info=True)
    return None


def _check_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    for canonical, source in mapping.items():
        if canonical not in validate.CANONICAL_FIELDS:
            raise UserError(f"--map {canonical}={source}: {canonical!r} is not a field; "
                            f"map one of: {', '.join(validate.CANONICAL_FIELDS)}")
        if not source:
            raise UserError(f"--map {canonical}= names no source column")
    return dict(mapping)


# --------------------------------------------------------------------------------------------- collecting


class _Collector:
    """Accumulates loaded rows (tuples), their turns (column lists) and rejected rows.

    Loaded rows become a polars frame every :data:`FLUSH_ROWS` rows, so Python objects for at most that many
    transcripts are alive at once (Python strings take up to 4 bytes per character, Arrow 1–4 bytes in UTF-8).
    """

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.turn_cols: tuple[list, list, list, list] = ([], [], [], [])
        self.attack_frames: list[pl.DataFrame] = []
        self.turn_frames: list[pl.DataFrame] = []
        self.rejected: list[tuple] = []
        self.seen: dict[str, int] = {}

    def add(self, dataset: str, source_file: str, row: int, rec: validate.ValidRecord) -> bool:
        """Add a loaded record; True when it duplicates an earlier one."""
        key = validate.attack_key(dataset, rec)
        k = self.seen.get(key)
        if k is None:
            self.seen[key] = 0
            attack_id, duplicate = key, False
        else:
            self.seen[key] = k + 1
            attack_id, duplicate = f"{key}~{k + 1}", True
        self.rows.append((
            attack_id, source_file, row, rec.model, rec.model_type, rec.model_size, rec.model_size_b, rec.rating,
            rec.success, rec.harmlessness, rec.task_description, rec.task_description_harmlessness, rec.attack_text,
            rec.transcript, rec.response, rec.n_turns, rec.red_team_member_id, rec.is_upworker, rec.tags,
            rec.attack_method, rec.campaign, rec.category, rec.created_at, duplicate,
        ))
        if rec.turns:
            ids, index, speakers, texts = self.turn_cols
            n = len(rec.turns)
            ids.extend([attack_id] * n)
            index.extend(range(n))
            s, t = zip(*rec.turns, strict=True)
            speakers.extend(s)
            texts.extend(t)
        if len(self.rows) >= FLUSH_ROWS:
            self._flush()
        return duplicate

    def reject(self, source_file: str, row: int | None, reason: str, raw: str | None) -> None:
        self.rejected.append((source_file, row, reason, validate.excerpt(raw)))

    def _flush(self) -> None:
        if self.rows:
            self.attack_frames.append(_frame(self.rows, _ATTACK_ORDER, ATTACK_COLUMNS))
            self.rows = []
        if self.turn_cols[0]:
            self.turn_frames.append(pl.DataFrame(
                [pl.Series(name, col, dtype=dtype)
                 for (name, dtype), col in zip(TURN_COLUMNS.items(), self.turn_cols, strict=True)]
            ))
            self.turn_cols = ([], [], [], [])

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        self._flush()
        attacks = _concat(self.attack_frames, ATTACK_COLUMNS)
        turns = _concat(self.turn_frames, TURN_COLUMNS)
        rejected = _frame(self.rejected, list(REJECTED_COLUMNS), REJECTED_COLUMNS)
        return attacks, turns, rejected


_ATTACK_ORDER = [
    "attack_id", "source_file", "source_row", "model", "model_type", "model_size", "model_size_b", "rating",
    "success", "harmlessness", "task_description", "task_description_harmlessness", "attack_text", "transcript",
    "response", "n_turns", "red_team_member_id", "is_upworker", "tags", "attack_method", "campaign", "category",
    "created_at", "is_duplicate",
]


def _frame(rows: list[tuple], names: list[str], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=schema)
    columns = zip(*rows, strict=True)
    df = pl.DataFrame([pl.Series(name, col, dtype=schema[name], strict=False)
                       for name, col in zip(names, columns, strict=True)])
    return df.select(pl.col(c) if c in df.columns else pl.lit(None, dtype=t).alias(c) for c, t in schema.items())


def _concat(frames: list[pl.DataFrame], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=schema)
    return frames[0] if len(frames) == 1 else pl.concat(frames)


# --------------------------------------------------------------------------------------------- one file


@dataclass
class _Opened:
    """A file opened for reading: its records, its header (CSV/Parquet) and its text source (None for Parquet)."""

    container: str  # parquet | json | jsonl | csv
    records: Iterator[generic.RawRecord]
    columns: list[str] | None
    chunks: files.TextChunks | None


def _load_file(path: Path, fmt: str, mapping: dict[str, str], dataset: str | None, success_threshold: float,
               max_bytes: int, progress: bool, out: _Collector, options: native.Options) -> InputStats:
    """Read one file into ``out``; returns its counts."""
    if not path.exists():
        raise UserError(f"input file {path} does not exist")
    if not path.is_file():
        raise UserError(f"input {path} is not a file")
    t0 = time.perf_counter()
    source_file = str(path)
    try:
        sha256 = files.sha256_file(path)
        probe = native.probe(path)
    except PermissionError:
        raise UserError(f"input file {path} cannot be read (permission denied)") from None
    tool = fmt if fmt in NATIVE_READERS else _detect_native(probe) if fmt == "auto" else None
    if tool is not None:
        counts = _read_native(probe, tool, mapping, dataset, success_threshold, options, out)
        compression = probe.sniffed.compression if probe.sniffed is not None else "none"
        encoding = probe.sniffed.encoding if probe.sniffed is not None else "binary"
        stats = InputStats(source_file, sha256, *counts, tool, compression, encoding)
        log.info("ingest: %s (%s): read %d, loaded %d, rejected %d, duplicates %d in %.2f s", path, tool,
                 stats.n_read, stats.n_loaded, stats.n_rejected, stats.n_duplicates, time.perf_counter() - t0)
        return stats
    sniffed = probe.sniffed if probe.sniffed is not None else files.sniff(path)

    bar = _progress_bar(path, progress)
    try:
        opened = _open_records(path, fmt, sniffed, max_bytes, bar)
        if isinstance(opened, tuple):
            reason, kind = opened
            out.reject(source_file, None, reason, sniffed.text[:validate.MAX_EXCERPT_CHARS] or None)
            log.warning("ingest: %s: rejected as a whole: %s", path, reason)
            return InputStats(source_file, sha256, 1, 0, 1, 0, kind, sniffed.compression, sniffed.encoding)
        preset, records = _detect_preset(fmt, opened)
        counts = _read_records(path, records, opened, preset, mapping, dataset, success_threshold, out)
    finally:
        bar.close()

    chunks = opened.chunks
    if chunks is not None and chunks.n_repaired:
        log.warning("ingest: %s: %d byte sequence(s) were not valid UTF-8 and were read as Windows-1252",
                    path, chunks.n_repaired)
    if chunks is not None and chunks.n_nul:
        log.warning("ingest: %s: removed %d NUL character(s)", path, chunks.n_nul)
    reader_name = "anthropic" if preset else opened.container
    stats = InputStats(source_file, sha256, *counts, reader_name, sniffed.compression, sniffed.encoding)
    log.info("ingest: %s (%s, %s, %s): read %d, loaded %d, rejected %d, duplicates %d in %.2f s", path, reader_name,
             sniffed.compression, sniffed.encoding, stats.n_read, stats.n_loaded, stats.n_rejected,
             stats.n_duplicates, time.perf_counter() - t0)
    return stats


def _open_records(path: Path, fmt: str, sniffed: files.Sniffed, max_bytes: int, bar: _Bar
                  ) -> _Opened | tuple[str, str]:
    """The file's record reader, or (reason, format) when the file cannot be read as data at all."""
    if sniffed.refused:
        return sniffed.refused, "unreadable"
    container = _container(fmt, sniffed, path)
    if container == "parquet":
        try:
            frame = generic.read_parquet(_parquet_source(path, sniffed.compression, max_bytes))
        except Exception as exc:  # noqa: BLE001 - polars/arrow raise many kinds for a corrupt file
            return f"the file is not a readable Parquet file ({_first_line(exc)})", "parquet"
        return _Opened(container, generic.iter_frame(frame), frame.columns, None)
    if sniffed.not_text:
        return sniffed.not_text, "unreadable"
    chunks = files.TextChunks(path, sniffed.compression, sniffed.encoding, max_bytes, bar.update_to)
    if container == "csv":
        delimiter = "\t" if _suffix(path) == ".tsv" else generic.detect_delimiter(sniffed.text.split("\n", 1)[0])
        reader = generic.CsvReader(chunks, delimiter)
        if reader.header_error:
            return reader.header_error, "csv"
        if chunks.error and not reader.header_complete:
            return chunks.error, "csv"
        return _Opened(container, iter(reader), reader.columns, chunks)
    records = generic.iter_json_array(chunks) if container == "json" else generic.iter_jsonl(chunks)
    return _Opened(container, records, None, chunks)


def _detect_preset(fmt: str, opened: _Opened) -> tuple[bool, Iterator[generic.RawRecord]]:
    """Whether to read with the Anthropic preset (peeking at the first object when there is no header)."""
    if fmt == "anthropic":
        return True, opened.records
    if fmt != "auto":
        return False, opened.records
    if opened.columns is not None:
        return anthropic.looks_anthropic(opened.columns), opened.records
    head = list(itertools.islice(opened.records, _PEEK_LIMIT))
    first = next((r.value for r in head if isinstance(r.value, dict)), None)
    return first is not None and anthropic.looks_anthropic(first), itertools.chain(head, opened.records)


def _read_native(p: native.Probe, tool: str, mapping: dict[str, str], dataset: str | None,
                 success_threshold: float, options: native.Options, out: _Collector) -> tuple[int, int, int, int]:
    """Read a tool's output with its native reader; returns (n_read, n_loaded, n_rejected, n_duplicates).

    A mapped key (``--map CANONICAL=KEY``) that the tool's record has overrides what the reader derived.
    """
    source_file = str(p.path)
    dataset_id = dataset or tool
    n_read = n_loaded = n_rejected = n_duplicates = 0
    rows = NATIVE_READERS[tool].read(p, options)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except native.FileUnreadable as exc:
            excerpt = p.sniffed.text[:validate.MAX_EXCERPT_CHARS] if p.sniffed is not None else None
            reason = str(exc) if n_read == 0 else f"{exc}; reading stopped there"
            out.reject(source_file, None if n_read == 0 else n_read, reason, excerpt or None)
            log.warning("ingest: %s: %s", p.path, reason)
            n_read += 1
            n_rejected += 1
            break
        index = n_read
        n_read += 1
        reason = row.reason
        if reason is None:
            fields = dict(row.fields or {})
            if isinstance(row.raw, dict):
                for canonical, key in mapping.items():
                    found, value = _lookup(row.raw, key)
                    if found:
                        fields[canonical] = value
            try:
                valid = validate.validate_record(fields, success_threshold=success_threshold)
            except validate.Invalid as exc:
                reason = str(exc)
            else:
                n_loaded += 1
                n_duplicates += out.add(dataset_id, source_file, index, valid)
                continue
        raw = row.raw if isinstance(row.raw, str) else generic.dump_excerpt(row.raw)
        out.reject(source_file, index, reason, raw)
        n_rejected += 1
    for warning in options.warnings:
        log.warning("ingest: %s: %s", p.path, warning)
    options.warnings.clear()
    return n_read, n_loaded, n_rejected, n_duplicates


def _read_records(path: Path, records: Iterable[generic.RawRecord], opened: _Opened, preset: bool,
                  mapping: dict[str, str], dataset: str | None, success_threshold: float, out: _Collector
                  ) -> tuple[int, int, int, int]:
    """Map, validate and collect every record; returns (n_read, n_loaded, n_rejected, n_duplicates)."""
    source_file = str(path)
    dataset_id = dataset or (anthropic.DATASET if preset else DEFAULT_DATASET)
    field_map = _field_map(mapping, preset)
    text_sources = {k for canonical, keys in field_map if canonical in ("attack_text", "transcript") for k in keys}
    file_mapping = {} if preset else mapping  # mapped sources this file must have
    if opened.columns is not None:
        _check_columns(path, opened.columns, file_mapping, text_sources)

    pending = set(file_mapping.values())  # mapped sources not yet seen in any JSON record
    seen_text_source = False
    n_objects = 0
    keys_seen: dict[str, None] = {}
    n_read = n_loaded = n_rejected = n_duplicates = 0
    cut_off: int | None = None  # index in out.rejected of a rejected record that ran into the end of the data
    for rec in records:
        row = n_read
        n_read += 1
        value = rec.value
        reason = rec.error
        if reason is None and not isinstance(value, dict):
            reason = f"record is not a JSON object (it is {validate.describe(value)})"
        if reason is None:
            if opened.columns is None:
                if n_objects < 100:
                    keys_seen.update(dict.fromkeys(itertools.islice(value, 200)))
                n_objects += 1
                if not seen_text_source:
                    seen_text_source = any(_lookup(value, k)[0] for k in text_sources)
                if pending:
                    pending = {src for src in pending if not _lookup(value, src)[0]}
            try:
                valid = validate.validate_record(_extract(value, field_map), success_threshold=success_threshold)
            except validate.Invalid as exc:
                reason = str(exc)
            else:
                n_loaded += 1
                n_duplicates += out.add(dataset_id, source_file, row, valid)
                continue
        out.reject(source_file, row, reason, rec.raw if rec.raw is not None else generic.dump_excerpt(value))
        n_rejected += 1
        if rec.at_end:
            cut_off = len(out.rejected) - 1

    chunks = opened.chunks
    if chunks is not None and chunks.error:
        # The data broke off: say so on the record it cut, or as one more rejected row.
        if cut_off is not None:
            src, row, _, raw = out.rejected[cut_off]
            out.rejected[cut_off] = (src, row, f"{chunks.error}; this record was cut off there", raw)
        else:
            out.reject(source_file, n_read, f"{chunks.error}; anything after that point could not be read", None)
            n_read += 1
            n_rejected += 1
    if opened.columns is None and n_objects:
        _check_keys(path, file_mapping, pending, seen_text_source, list(keys_seen))
    return n_read, n_loaded, n_rejected, n_duplicates


def _container(fmt: str, sniffed: files.Sniffed, path: Path) -> str:
    """The container to read: parquet | json (array) | jsonl | csv, from the content first, then the name."""
    if fmt in ("csv", "parquet"):
        return fmt
    if sniffed.head.startswith(b"PAR1"):
        return "parquet"
    first = sniffed.text.lstrip("\ufeff \t\r\n")[:1]
    if first == "[":
        return "json"
    if first == "{":
        return "jsonl"
    if fmt in ("json", "jsonl"):
        return fmt
    suffix = _suffix(path)
    if suffix == ".json":
        return "json"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".parquet":
        return "parquet"
    return "csv"


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _parquet_source(path: Path, compression: str, max_bytes: int) -> Any:
    if compression == "none":
        return path
    with files.open_decompressed(path, compression, max_bytes) as stream:
        return generic.bytes_source(stream.read(max_bytes + 1))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _field_map(mapping: dict[str, str], preset: bool) -> list[tuple[str, tuple[str, ...]]]:
    """(canonical field, source keys tried in order) for every canonical field."""
    out = []
    for canonical in validate.CANONICAL_FIELDS:
        if preset:
            # The preset is complete, so a mapping (given for other, generic inputs of the same run) only
            # overrides it where the record has the mapped key.
            keys = anthropic.FIELD_SOURCES.get(canonical, ()) + (canonical,)
            if canonical in mapping:
                keys = (mapping[canonical],) + tuple(k for k in keys if k != mapping[canonical])
        elif canonical in mapping:
            keys = (mapping[canonical],)
        else:
            keys = (canonical,)
        out.append((canonical, keys))
    return out


def _lookup(record: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """(found, value) of ``key`` in ``record``; ``a.b`` reaches into nested objects when no key is literally ``a.b``."""
    if key in record:
        return True, record[key]
    if "." not in key:
        return False, None
    node: Any = record
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _extract(record: Mapping[str, Any], field_map: list[tuple[str, tuple[str, ...]]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for canonical, keys in field_map:
        for key in keys:
            if key in record:
                fields[canonical] = record[key]
                break
            if "." in key:
                found, value = _lookup(record, key)
                if found:
                    fields[canonical] = value
                    break
    return fields


def _check_columns(path: Path, columns: list[str], mapping: dict[str, str], text_sources: set[str]) -> None:
    listed = ", ".join(columns[:60]) + (", …" if len(columns) > 60 else "") if columns else "(none)"
    for canonical, source in mapping.items():
        if source not in columns:
            raise UserError(f"--map {canonical}={source}: {path} has no column {source!r}; its columns are: {listed}")
    if not text_sources.intersection(columns):
        raise UserError(f"{path} has no attack_text or transcript column (its columns are: {listed}); "
                        "name the prompt column with --map attack_text=COLUMN")


def _check_keys(path: Path, mapping: dict[str, str], pending: set[str], seen_text_source: bool,
                keys_seen: list[str]) -> None:
    listed = ", ".join(keys_seen[:60]) if keys_seen else "(none)"
    for canonical, source in mapping.items():
        if source in pending:
            raise UserError(f"--map {canonical}={source}: no record in {path} has the key {source!r}; "
                            f"its keys include: {listed}")
    if not seen_text_source:
        raise UserError(f"no record in {path} has an attack_text or transcript key (its keys include: {listed}); "
                        "name the prompt key with --map attack_text=KEY")


class _Bar:
    """A tqdm bar over the file's bytes on disk, or nothing."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.last = 0

    def update_to(self, pos: int) -> None:
        if self.bar is not None and pos > self.last:
            self.bar.update(pos - self.last)
            self.last = pos

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _progress_bar(path: Path, progress: bool) -> _Bar:
    if not progress:
        return _Bar(None)
    from tqdm.auto import tqdm

    return _Bar(tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=f"ingest {path.name}", leave=False))
