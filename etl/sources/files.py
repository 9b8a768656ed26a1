"""Open an input file: decompression, size guard, encoding detection and decoding into text chunks.

Decisions (what a user sees):
- Compression is detected by magic bytes, never by name: gzip, bzip2 and xz are decompressed; a zip archive is
  refused with a reason. Decompressed bytes above ``max_decompressed_bytes`` stop the read (a compression bomb is
  caught after reading just past the limit, not after inflating it all).
- Encoding: a UTF-8, UTF-16 or UTF-32 byte-order mark is honoured; UTF-16 without a mark is recognised by its
  zero bytes; otherwise UTF-8. Bytes that are not valid UTF-8 are decoded as Windows-1252 (the usual culprit is a
  spreadsheet export), so the record is loaded with its characters rather than rejected; the count is logged.
- NUL characters carry no meaning in text data and are removed while decoding (counted and logged).
- A file whose first 64 KiB are mostly control characters or undecodable bytes is "not text data".
- A read that fails midway (truncated or corrupt compressed stream, the size guard) ends the text with
  :attr:`TextChunks.error` set; everything decoded before the break is still delivered.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import hashlib
import lzma
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SNIFF_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_REPAIR_HANDLER = "redteam_risk.cp1252"
_READ_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


class _RepairCount:
    n = 0


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _RepairCount.n += 1
    return exc.object[exc.start:exc.end].decode("cp1252", errors="replace"), exc.end


codecs.register_error(_REPAIR_HANDLER, _cp1252_fallback)


class TooLarge(OSError):
    """Decompressed data went over the size limit."""


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes of a file say about it.

    ``head`` is up to :data:`SNIFF_BYTES` of decompressed content; ``text`` is ``head`` decoded (only the
    leading part of a file, for format detection); ``not_text`` is a reason when the content is not text.
    """

    compression: str  # "none" | "gzip" | "bzip2" | "xz"
    head: bytes
    encoding: str
    text: str
    not_text: str | None
    refused: str | None  # a reason when the container cannot be read at all (zip, empty file)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of the file's bytes as stored on disk."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def sniff(path: Path) -> Sniffed:
    """Inspect the start of ``path``: compression, encoding, whether it is text at all."""
    with open(path, "rb") as f:
        raw_head = f.read(8)
    compression = next((name for magic, name in _MAGIC if raw_head.startswith(magic)), "none")
    if any(raw_head.startswith(m) for m in _ZIP_MAGIC):
        return Sniffed("zip", b"", "utf-8", "", None, "zip archives are not read; unzip the file and pass its contents")
    with open_decompressed(path, compression, SNIFF_BYTES * 2) as stream:
        head, problem = _read_up_to(stream, SNIFF_BYTES)
    if not head:
        if compression == "none":
            refused = "the file is empty"
        elif problem:
            refused = f"the {compression} stream is truncated or corrupt before any data ({problem})"
        else:
            refused = f"the {compression} stream holds no data"
        return Sniffed(compression, head, "utf-8", "", None, refused)
    encoding = detect_encoding(head)
    text = head.decode(encoding, errors="replace")
    if len(head) < SNIFF_BYTES and not text.lstrip("\ufeff").strip():
        return Sniffed(compression, head, encoding, text, None, "the file holds no data (only whitespace)")
    return Sniffed(compression, head, encoding, text, _not_text_reason(head, text), None)


def _read_up_to(stream: BinaryIO, n: int) -> tuple[bytes, str | None]:
    """Up to ``n`` bytes and, when the stream broke first, the error message."""
    parts, got, problem = [], 0, None
    while got < n:
        try:
            b = stream.read(n - got)
        except _READ_ERRORS as exc:
            problem = _message(exc)
            break
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts), problem


def detect_encoding(head: bytes) -> str:
    """Codec name for text starting with ``head``: from a byte-order mark, UTF-16 zero-byte pattern, else UTF-8."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    sample = head[:4096]
    n = len(sample) // 2
    if n >= 2:
        zero_even = sample[0 : 2 * n : 2].count(0)
        zero_odd = sample[1 : 2 * n : 2].count(0)
        if zero_odd > 0.3 * n and zero_even < 0.05 * n:
            return "utf-16-le"
        if zero_even > 0.3 * n and zero_odd < 0.05 * n:
            return "utf-16-be"
    return "utf-8"


def _not_text_reason(head: bytes, text: str) -> str | None:
    if len(head) >= SNIFF_BYTES:
        text = text[:-4]  # the sample may end inside a multi-byte character
    if not text:
        return None
    bad = len(_CONTROL.findall(text))
    if bad > 0.1 * len(text):
        return ("the file does not look like text data (CSV or JSON) or Parquet: it starts with bytes "
                f"{head[:8].hex(' ')}")
    return None


class _Guarded:
    """A binary reader that fails with :class:`TooLarge` once more than ``limit`` bytes have been read."""

    def __init__(self, inner: BinaryIO, limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = CHUNK_BYTES
        # read1: one decompressed block at a time, so a later failure cannot take earlier data with it
        data = self.inner.read1(min(n, self.limit - self.count + 1))
        self.count += len(data)
        if self.count > self.limit:
            raise TooLarge(f"the decompressed data is larger than the limit of {self.limit:,} bytes "
                           "(max_decompressed_bytes); reading stopped there (a compression bomb?)")
        return data


@contextmanager
def open_decompressed(path: Path, compression: str, limit: int) -> Iterator[BinaryIO]:
    """Binary stream of the decompressed content of ``path``; compressed content is capped at ``limit`` bytes."""
    with open(path, "rb") as raw:
        yield _decompressing(raw, compression, limit)


def _decompressing(raw: BinaryIO, compression: str, limit: int) -> BinaryIO:
    if compression == "none":
        return raw
    if compression == "gzip":
        inner: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb")
    elif compression == "bzip2":
        inner = bz2.BZ2File(raw, mode="rb")
    else:
        inner = lzma.LZMAFile(raw, mode="rb")  # noqa: SIM115 - closed with ``raw`` by the caller
    return _Guarded(inner, limit)  # type: ignore[return-value]


class TextChunks:
    """Iterate decoded text chunks of a file; a read failure ends the iteration and sets :attr:`error`.

    Attributes after iteration: ``error`` (a reason, or None), ``n_repaired`` (invalid UTF-8 sequences decoded
    as Windows-1252), ``n_nul`` (NUL characters removed), ``n_bytes`` (decompressed bytes read).
    """

    def __init__(self, path: Path, compression: str, encoding: str, limit: int,
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.path = path
        self.compression = compression
        self.encoding = encoding
        self.limit = limit
        self.on_progress = on_progress
        self.error: str | None = None
        self.n_repaired = 0
        self.n_nul = 0
        self.n_bytes = 0

    def __iter__(self) -> Iterator[str]:
        errors = _REPAIR_HANDLER if self.encoding in ("utf-8", "utf-8-sig") else "replace"
        decoder = codecs.getincrementaldecoder(self.encoding)(errors=errors)
        with open(self.path, "rb") as raw:
            stream = _decompressing(raw, self.compression, self.limit)
            first = True
            while True:
                data, broken = self._read_chunk(stream)
                self.n_bytes += len(data)
                before = _RepairCount.n
                text = decoder.decode(data, final=broken or not data)
                if first and text:
                    first = False
                    text = text.lstrip("\ufeff")  # a second byte-order mark after the one the codec consumed
                self.n_repaired += _RepairCount.n - before
                if "\x00" in text:
                    n = len(text)
                    text = text.replace("\x00", "")
                    self.n_nul += n - len(text)
                if self.on_progress is not None:
                    self.on_progress(raw.tell())
                if text:
                    yield text
                if broken or not data:
                    return

    def _read_chunk(self, stream: BinaryIO) -> tuple[bytes, bool]:
        """About :data:`CHUNK_BYTES` bytes and whether the stream broke (then ``error`` is set)."""
        parts: list[bytes] = []
        got = 0
        while got < CHUNK_BYTES:
            try:
                data = stream.read(CHUNK_BYTES - got)
            except TooLarge as exc:
                self.error = str(exc)
                return b"".join(parts), True
            except _READ_ERRORS as exc:
                what = "reading the file" if self.compression == "none" else f"the {self.compression} data"
                self.error = (f"{what} is truncated or corrupt after {self.n_bytes + got:,} bytes "
                              f"({_message(exc)})")
                return b"".join(parts), True
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts), False


def _message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
