"""Pure helpers that keep untrusted attack text inert: PII masking and spreadsheet-formula neutralising.

Attack records are written by red-team members to provoke harmful output; they may hold HTML, markdown,
formulas or personal data. The dashboard shows them only through plain-text elements (``st.text``,
``st.dataframe``), never as markdown or HTML; these helpers cover what plain text does not.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import polars as pl

from etl.domain import FORMULA_PREFIXES

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# International or North-American style numbers with at least 7 digits, separators allowed.
PHONE = re.compile(r"(?<![\w])(?:\+?\d[\d ().-]{5,}\d)(?![\w])")
# Every character Streamlit's markdown gives a meaning to: CommonMark, :colour[...] and :icon: directives, $math$.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&])")


def escape_markdown(text: object) -> str:
    """``text`` as literal characters inside Streamlit markdown (captions, alerts): every special character
    backslash-escaped and line breaks flattened, so data can add no link, image, heading or HTML."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def safe_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) address, percent-encoded so it cannot end a markdown link or an
    HTML attribute early (spaces, quotes, brackets, angle brackets); None for anything else
    (``javascript:``, ``data:``, relative paths, control characters)."""
    text = str(url or "").strip()
    if not text or any(ord(c) < 32 or ord(c) == 127 for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(text, safe=":/?#@!&+,;=%~-._")


def markdown_link(url: object, text: object | None = None) -> str:
    """A markdown link to ``url`` labelled with ``text`` (default: the address), both escaped; plain escaped
    text when ``url`` is not a safe http(s) address."""
    safe = safe_url(url)
    label = escape_markdown(text if text is not None else (url or ""))
    return f"[{label}]({safe})" if safe else label


def mask_pii(text: str | None) -> str:
    """``text`` with e-mail addresses replaced by ``[email]`` and phone numbers by ``[phone]``."""
    if not text:
        return text or ""
    text = EMAIL.sub("[email]", text)
    return PHONE.sub(lambda m: "[phone]" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text)


def neutralise_formula(value: str | None) -> str | None:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula (starts with = + - @, tab or CR)."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Every string cell of ``df`` passed through ``neutralise_formula``; list columns joined with ``; ``."""
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if dtype == pl.List(pl.String):
            col = col.list.join("; ")
        elif dtype != pl.String:
            exprs.append(col)
            continue
        exprs.append(
            pl.when(col.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + col).otherwise(col).alias(name)
        )
    return df.select(exprs)


def to_csv_bytes(df: pl.DataFrame) -> bytes:
    """``df`` as UTF-8 CSV (with BOM, so spreadsheets detect the encoding), formulas neutralised."""
    return b"\xef\xbb\xbf" + neutralise_frame(df).write_csv().encode("utf-8")
