"""Harm taxonomy loading and theme assignment.

A taxonomy is a TOML file (format: docs/taxonomy.md; the packaged default is
``etl/taxonomy/default.toml``). Each attack's embedding is scored by two experts, the taxonomy's exemplars and
descriptions (zero-shot) and a classifier head trained on them plus a labelled corpus; their calibrated product is
combined with the mean distribution of the attack's cluster, and the most probable theme wins. Below the
taxonomy's confidence floor the attack keeps that theme and is flagged for review. Tags in the input data are
never used.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.resources
import io
import logging
import re
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from etl import cachefiles, reduce
from etl.errors import UserError, read_user_text
from etl.vectors import VectorFile

log = logging.getLogger("redteam_risk.themes")

OTHER = "other"
DEFAULT_TAXONOMY_NAME = "default taxonomy (etl/taxonomy/default.toml)"
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_THEME_HEADER = re.compile(r"^\s*\[\[\s*themes\s*\]\]")
_CHUNK_ROWS = 4096  # rows scored at once; bounds memory to chunk × n_exemplars float32


@dataclass(frozen=True)
class Setting:
    """A top-level taxonomy setting: default, allowed range (inclusive unless noted) and help text."""

    default: float
    low: float
    high: float
    help: str
    is_int: bool = False
    low_exclusive: bool = False


# Declared once; docs/taxonomy.md documents each (a test checks).
SETTINGS: dict[str, Setting] = {
    "confidence_floor": Setting(
        0.30, 0.0, 1.0, "attacks whose calibrated top theme probability is below this are flagged `needs review` "
        "(they keep their most probable theme)"
    ),
    "temperature": Setting(
        0.03, 0.0, 10.0, "softmax temperature over theme scores, in cosine-similarity units", low_exclusive=True
    ),
    "exemplar_top_k": Setting(
        3, 1, 1000, "a theme's exemplar score is the mean of its k most similar exemplars", is_int=True
    ),
    "description_weight": Setting(
        0.2, 0.0, 1.0, "share of a theme's score taken from the similarity to its description"
    ),
    "cluster_weight": Setting(
        0.5, 0.0, 1.0, "weight of the cluster's mean distribution against the attack's own (product of the two; "
        "0 = no mixing); also of the nearest neighbours' mean for attacks not mixed with their cluster"
    ),
    "similarity_floor": Setting(
        0.25, -1.0, 1.0, "the lowest score `other` gets, so texts similar to no theme fall to `other`"
    ),
    "head_weight": Setting(
        1.0, 0.0, 10.0, "weight of the trained classifier head against the exemplar similarities (0 = zero-shot only)"
    ),
}
_THEME_KEYS = ("id", "name", "description", "exemplars", "severity")


@dataclass(frozen=True)
class Theme:
    """One harm theme. ``severity`` is its default weight, 1 (low) to 5 (highest)."""

    id: str
    name: str
    description: str
    exemplars: tuple[str, ...]
    severity: int


# Added to a taxonomy that has no `other` theme. No exemplars on purpose: benign exemplars would
# compete with a custom taxonomy's own topics; `similarity_floor` alone makes unmatched texts `other`.
IMPLICIT_OTHER = Theme(
    id=OTHER,
    name="Other",
    description="Messages that match none of the other themes.",
    exemplars=(),
    severity=1,
)


@dataclass(frozen=True)
class Taxonomy:
    """The themes in use plus the scoring settings (see ``SETTINGS``); ``source`` names the file."""

    themes: list[Theme]
    confidence_floor: float = SETTINGS["confidence_floor"].default
    temperature: float = SETTINGS["temperature"].default
    exemplar_top_k: int = int(SETTINGS["exemplar_top_k"].default)
    description_weight: float = SETTINGS["description_weight"].default
    cluster_weight: float = SETTINGS["cluster_weight"].default
    similarity_floor: float = SETTINGS["similarity_floor"].default
    head_weight: float = SETTINGS["head_weight"].default
    source: str = ""

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def settings(self) -> dict[str, float | int]:
        """The scoring settings in use (name -> value), e.g. for a run's recorded parameters."""
        return {name: getattr(self, name) for name in SETTINGS}

    def theme(self, theme_id: str) -> Theme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise KeyError(theme_id)

    def to_frame(self) -> pl.DataFrame:
        """The ``themes`` table of the published database: theme, display_name, description, exemplars, severity."""
        return pl.DataFrame(
            {
                "theme": [t.id for t in self.themes],
                "display_name": [t.name for t in self.themes],
                "description": [t.description for t in self.themes],
                "exemplars": [list(t.exemplars) for t in self.themes],
                "severity": [t.severity for t in self.themes],
            },
            schema={
                "theme": pl.String,
                "display_name": pl.String,
                "description": pl.String,
                "exemplars": pl.List(pl.String),
                "severity": pl.Int32,
            },
        )


@dataclass(frozen=True)
class ThemeAssignment:
    """Result of ``assign_themes`` for n attacks over the k themes of ``theme_ids``.

    ``theme``: n theme ids; ``theme_index``: the same as indices into ``theme_ids``;
    ``confidence``: n floats 0–1, the calibrated, cluster- (or neighbour-) mixed probability of the chosen theme;
    ``probabilities``: n × k mixed distribution;
    ``cluster_theme``: cluster id (incl. -1 when present) -> its most frequent assigned theme.
    """

    theme: list[str]
    theme_index: np.ndarray
    confidence: np.ndarray
    probabilities: np.ndarray
    cluster_theme: dict[int, str]
    theme_ids: list[str]
    needs_review: np.ndarray | None = None  # n bools: confidence below the taxonomy's confidence_floor


# ---------------------------------------------------------------------------------------------
# Loading


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy TOML file; ``None`` loads the packaged default.

    A file without an ``other`` theme gets ``IMPLICIT_OTHER`` (no exemplars) appended.
    Raises ``UserError`` naming the file (and the line where known) for any problem.
    """
    if path is None:
        text = importlib.resources.files("etl").joinpath("taxonomy/default.toml").read_text(encoding="utf-8")
        return _parse(text, DEFAULT_TAXONOMY_NAME)
    path = Path(path)
    label = f"taxonomy file {path}"
    text = read_user_text(path, label)
    return _parse(text, label)


def _parse(text: str, label: str) -> Taxonomy:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)" — exactly what the user needs.
        raise UserError(f"The {label} is not valid TOML: {exc}.") from None

    lines = text.splitlines()
    header_lines = [i + 1 for i, line in enumerate(lines) if _THEME_HEADER.match(line)]

    def where(key: str | None = None, theme_no: int | None = None) -> str:
        """', line N' for a top-level key, a key inside theme #theme_no, or that theme's header; '' if not found."""
        if theme_no is None:
            start, end = 0, next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
        elif theme_no < len(header_lines):
            start = header_lines[theme_no]
            end = header_lines[theme_no + 1] - 1 if theme_no + 1 < len(header_lines) else len(lines)
        else:
            return ""
        if key is not None:
            for i in range(start, end):
                if re.match(rf"^\s*{re.escape(key)}\s*=", lines[i]):
                    return f", line {i + 1}"
        return f", line {start}" if theme_no is not None else ""

    allowed_top = {"version", "themes", *SETTINGS}
    unknown = sorted(set(doc) - allowed_top)
    if unknown:
        raise UserError(
            f"The {label}{where(unknown[0])} has an unknown setting '{unknown[0]}'; "
            f"allowed top-level keys are: {', '.join(sorted(allowed_top))}."
        )
    version = doc.get("version", 1)
    if version != 1:
        raise UserError(f"The {label}{where('version')} has version = {version!r}; only version 1 is supported.")

    settings: dict[str, Any] = {}
    for name, spec in SETTINGS.items():
        value = doc.get(name, spec.default)
        ok_type = isinstance(value, int) if spec.is_int else isinstance(value, (int, float))
        in_range = ok_type and not isinstance(value, bool) and spec.low <= value <= spec.high
        if in_range and spec.low_exclusive and value == spec.low:
            in_range = False
        if not in_range:
            kind = "an integer" if spec.is_int else "a number"
            bound = ">" if spec.low_exclusive else ">="
            raise UserError(
                f"The {label}{where(name)} sets {name} = {value!r}; it must be {kind} {bound} {spec.low:g} "
                f"and <= {spec.high:g} ({spec.help})."
            )
        settings[name] = int(value) if spec.is_int else float(value)

    raw_themes = doc.get("themes")
    if not isinstance(raw_themes, list) or not raw_themes or not all(isinstance(t, dict) for t in raw_themes):
        raise UserError(f"The {label} defines no themes; add at least one [[themes]] table (see docs/taxonomy.md).")

    themes: list[Theme] = []
    seen: dict[str, int] = {}
    for no, raw in enumerate(raw_themes):
        theme = _parse_theme(raw, no, label, lambda key=None, no=no: where(key, no))
        if theme.id in seen:
            first = seen[theme.id]
            first_where = f" at line {header_lines[first]}" if first < len(header_lines) else ""
            raise UserError(
                f"The {label}{where('id', no)}: theme id '{theme.id}' is repeated (first defined by theme "
                f"#{first + 1}{first_where}); theme ids must be unique."
            )
        seen[theme.id] = no
        themes.append(theme)

    if OTHER not in seen:
        themes.append(IMPLICIT_OTHER)
        log.info("themes: %s has no '%s' theme; added one without exemplars", label, OTHER)
    if len(themes) < 2:
        raise UserError(f"The {label} needs at least one theme besides '{OTHER}'.")
    return Taxonomy(themes=themes, source=label, **settings)


def _parse_theme(raw: dict[str, Any], no: int, label: str, at: Callable[..., str]) -> Theme:
    """Validate one [[themes]] table; ``at(key)`` gives ', line N' of that key (or of the theme header)."""
    theme_id = raw.get("id")
    who = f"theme '{theme_id}'" if isinstance(theme_id, str) and theme_id else f"theme #{no + 1}"

    def prefix(key: str | None = None) -> str:
        return f"The {label}{at(key)}: {who}"

    unknown = sorted(set(raw) - set(_THEME_KEYS))
    if unknown:
        raise UserError(
            f"{prefix(unknown[0])} has an unknown key '{unknown[0]}'; theme keys are: {', '.join(_THEME_KEYS)}."
        )
    missing = [k for k in _THEME_KEYS if k not in raw and not (k == "exemplars" and theme_id == OTHER)]
    if missing:
        raise UserError(f"{prefix()} is missing the required key '{missing[0]}'.")

    if not isinstance(theme_id, str) or not _ID_PATTERN.match(theme_id):
        raise UserError(
            f"{prefix('id')} has id {theme_id!r}; an id must be lower-case letters, digits and underscores, "
            "starting with a letter."
        )
    for key in ("name", "description"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise UserError(f"{prefix(key)} needs a non-empty text '{key}'.")
    severity = raw["severity"]
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
        raise UserError(
            f"{prefix('severity')} has severity = {severity!r}; severity must be a whole number from 1 to 5."
        )
    exemplars = raw.get("exemplars", [])
    if not isinstance(exemplars, list) or not all(isinstance(e, str) and e.strip() for e in exemplars):
        raise UserError(f"{prefix('exemplars')} needs 'exemplars' to be a list of non-empty texts.")
    if not exemplars and theme_id != OTHER:
        raise UserError(f"{prefix('exemplars')} needs at least one exemplar phrase.")
    unique = tuple(dict.fromkeys(e.strip() for e in exemplars))
    return Theme(
        id=theme_id,
        name=raw["name"].strip(),
        description=" ".join(raw["description"].split()),
        exemplars=unique,
        severity=severity,
    )


# ---------------------------------------------------------------------------------------------
# Assignment


def assign_themes(
    embeddings: np.ndarray,
    cluster_ids: np.ndarray,
    taxonomy: Taxonomy,
    encode: Callable[[list[str]], np.ndarray],
    allowed: Sequence[Sequence[str] | None] | None = None,
    corpus: Corpus | None = None,
    chunks: tuple[np.ndarray, np.ndarray] | None = None,
    mix: np.ndarray | None = None,
    cache_dir: Path | None = None,
) -> ThemeAssignment:
    """Assign each attack a theme of ``taxonomy`` with a calibrated confidence.

    ``embeddings``: n × d vectors of the text each theme is read from (L2-normalised here if they are not);
    ``cluster_ids``: n ints, -1 = unclustered; ``encode``: texts -> vectors from the same model;
    ``allowed``: per attack, the theme ids its source category allows (None = any); ``corpus``: the labelled
    training requests (default: ``load_corpus()``); ``chunks``: (row indices m, vectors m × d) of sentence chunks
    of wrapped attacks (``etl.requests``): when an attack's own reading is weak (``other``, or below
    ``confidence_floor``), it takes the distribution of whichever of its chunks has the strongest harm signal (the
    highest probability of a theme other than ``other``), if stronger than the whole text's; ``mix``: per attack,
    whether to mix it with its cluster (the pipeline mixes the attacks whose theme text is the text the map embeds:
    a theme read from the intent alone or from a template-free request is not pulled by a wrapper's cluster); the
    others are mixed by the same rule with their own neighbourhood in theme-text space (``_mix_with_neighbours``).

    Two experts are multiplied: the zero-shot one (softmax of exemplar/description similarities over
    ``temperature``) and a classifier head trained here on the taxonomy's exemplars and descriptions plus the
    labelled corpus (``fit_head``), weighted by ``head_weight``. The product is calibrated by a temperature fitted
    on held-out folds of the corpus (``calibrate``), restricted to ``allowed``, then mixed with the attack's
    cluster mean, or with its theme-text neighbours' mean when ``mix`` rules the cluster out (``cluster_weight``).
    The most probable theme wins; its probability is the confidence, and attacks below ``confidence_floor`` keep
    that theme but are flagged in ``needs_review``.
    """
    started = time.perf_counter()
    # A VectorFile (etl/vectors.py) is read a chunk at a time below, never whole.
    x = embeddings if isinstance(embeddings, VectorFile) else np.asarray(embeddings, dtype=np.float32)
    clusters = np.asarray(cluster_ids).astype(np.int64, copy=False).reshape(-1)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array, got shape {x.shape}")
    if clusters.shape[0] != x.shape[0]:
        raise ValueError(f"{x.shape[0]} embeddings but {clusters.shape[0]} cluster ids")
    n, ids = x.shape[0], taxonomy.ids
    log.info("themes: start, %d attacks, %d themes", n, len(ids))

    exemplar_vecs, description_vecs, spans = _encode_taxonomy(taxonomy, encode)
    if exemplar_vecs.shape[1] != x.shape[1]:
        raise ValueError(
            f"encode() returns {exemplar_vecs.shape[1]}-d vectors but the embeddings are {x.shape[1]}-d; "
            "they must come from the same model"
        )
    model = train_assigner(taxonomy, encode, corpus, (exemplar_vecs, description_vecs, spans), cache_dir)
    own = np.empty((n, len(ids)), dtype=np.float32)
    for start in range(0, n, _CHUNK_ROWS):  # normalised chunk by chunk (row by row: the same as all at once)
        own[start : start + _CHUNK_ROWS] = model.predict(_normalise(np.asarray(x[start : start + _CHUNK_ROWS],
                                                                               dtype=np.float32)))
    if allowed is not None:
        own = _restrict(own, allowed, ids)
    if chunks is not None and len(chunks[0]):
        own = _strongest_chunk(own, chunks, model, allowed, ids, taxonomy.confidence_floor)

    mixed = _mix_with_clusters(own, np.where(mix, clusters, -1) if mix is not None else clusters,
                               taxonomy.cluster_weight)
    if mix is not None and not np.all(mix):
        apart = np.flatnonzero(~np.asarray(mix, dtype=bool))
        mixed = mixed.copy() if mixed is own else mixed
        mixed[apart] = _mix_with_neighbours(own, x, apart, taxonomy.cluster_weight)
        log.info("themes: %d attacks whose theme text is not the map's mixed with their %d nearest neighbours in "
                 "theme-text space%s", apart.shape[0], NEIGHBOURS, "" if apart.shape[0] >= 2 * NEIGHBOURS else
                 " (too few: left unmixed)")
    if allowed is not None:  # the cluster's mixture must not bring back a theme the source category rules out
        mixed = _restrict(mixed, allowed, ids)
    top = mixed.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    confidence = np.clip(mixed[np.arange(n), top].astype(np.float64), 0.0, 1.0)
    theme_index = top.astype(np.int64)
    theme = [ids[i] for i in theme_index]
    cluster_theme = _cluster_modes(clusters, theme_index, mixed, ids)
    needs_review = confidence < taxonomy.confidence_floor

    n_other = int((theme_index == ids.index(OTHER)).sum())
    log.info(
        "themes: done in %.1fs, %d attacks, %d (%.1f%%) other, %d (%.1f%%) need review, mean confidence %.2f",
        time.perf_counter() - started, n, n_other, 100 * n_other / max(n, 1), int(needs_review.sum()),
        100 * needs_review.mean() if n else 0.0, float(confidence.mean()) if n else 0.0,
    )
    return ThemeAssignment(
        theme=theme,
        theme_index=theme_index,
        confidence=confidence,
        probabilities=mixed,
        cluster_theme=cluster_theme,
        theme_ids=list(ids),
        needs_review=needs_review,
    )


# ---------------------------------------------------------------------------------------------
# The trained part: a classifier head learned from set-valued labels, and its calibration


@dataclass(frozen=True)
class Corpus:
    """Labelled real requests: ``texts[i]`` may be any of the theme ids ``allowed[i]`` (a category such as
    "violence" covers several themes). Provenance and licences: etl/taxonomy/corpus/PROVENANCE.md."""

    texts: list[str]
    allowed: list[tuple[str, ...]]
    source: str = ""


def load_corpus() -> Corpus:
    """Every ``etl/taxonomy/corpus/*.csv`` (columns ``text`` and ``themes``, ``;``-separated theme ids)."""
    folder = importlib.resources.files("etl").joinpath("taxonomy/corpus")
    texts: list[str] = []
    allowed: list[tuple[str, ...]] = []
    names = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".csv"):
            continue
        names.append(entry.name)
        for row in csv.DictReader(io.StringIO(entry.read_text(encoding="utf-8"))):
            themes = tuple(t for t in (row.get("themes") or "").split(";") if t)
            if row.get("text", "").strip() and themes:
                texts.append(row["text"].strip())
                allowed.append(themes)
    return Corpus(texts, allowed, ", ".join(names))


@dataclass
class Assigner:
    """The fitted assigner: ``predict(x)`` gives calibrated theme probabilities for unit vectors ``x`` (m × d)."""

    taxonomy: Taxonomy
    encoded: tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]
    weights: np.ndarray | None  # d × k head weights (None: zero-shot only)
    bias: np.ndarray | None
    calibration: float  # the temperature the combined logits are divided by
    n_train: int = 0

    def logits(self, x: np.ndarray) -> np.ndarray:
        ex, desc, spans = self.encoded
        zero_shot = theme_scores(x, ex, desc, spans, self.taxonomy) / self.taxonomy.temperature
        out = _log_softmax(zero_shot)
        if self.weights is not None:
            out = out + self.taxonomy.head_weight * _log_softmax(x @ self.weights + self.bias)
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        return _softmax(self.logits(x) / self.calibration).astype(np.float32)


HEAD_L2 = 1e-3  # L2 penalty per training example on the head's weights (unit-norm 384-d inputs)
CALIBRATION_FOLDS = 5


def train_assigner(
    taxonomy: Taxonomy,
    encode: Callable[[list[str]], np.ndarray],
    corpus: Corpus | None = None,
    encoded: tuple[np.ndarray, np.ndarray, list[tuple[int, int]]] | None = None,
    cache_dir: Path | None = None,
) -> Assigner:
    """Fit the classifier head on the taxonomy's exemplars and descriptions (one theme each) plus the corpus
    (set-valued labels, restricted to this taxonomy's ids; items allowing none of them are dropped), then fit the
    calibration temperature on ``CALIBRATION_FOLDS`` held-out folds of the corpus. Deterministic. The result is kept
    in-process and, with ``cache_dir``, in ``<cache_dir>/assigner/<key>.npz`` (the newest 4), keyed by everything it
    depends on, so reruns skip the training."""
    started = time.perf_counter()
    encoded = encoded or _encode_taxonomy(taxonomy, encode)
    ex, desc, spans = encoded
    ids = taxonomy.ids
    k = len(ids)
    if taxonomy.head_weight == 0.0:
        return Assigner(taxonomy, encoded, None, None, 1.0)
    corpus = load_corpus() if corpus is None else corpus
    key = _assigner_key(taxonomy, encoded, corpus)
    cached = _TRAINED.get(key) or _read_head(cache_dir, key) or _read_head(_packaged_folder(), key, touch=False)
    if cached is not None:
        _TRAINED[key] = cached
        w, b, temperature, n_train = cached
        return Assigner(taxonomy, encoded, w, b, temperature, n_train)
    index = {t: j for j, t in enumerate(ids)}
    c_texts, c_masks = [], []
    for text, allowed in zip(corpus.texts, corpus.allowed, strict=True):
        mask = np.zeros(k, dtype=bool)
        mask[[index[t] for t in allowed if t in index]] = True
        if mask.any():
            c_texts.append(text)
            c_masks.append(mask)
    fixed_x = np.vstack([ex, desc])
    fixed_y = np.zeros((fixed_x.shape[0], k), dtype=bool)
    for j, (a, b) in enumerate(spans):
        fixed_y[a:b, j] = True
    fixed_y[np.arange(len(ids)) + ex.shape[0], np.arange(len(ids))] = True
    cx = _normalise(np.asarray(encode(c_texts), dtype=np.float32)) if c_texts else np.zeros((0, ex.shape[1]), np.float32)
    cy = np.array(c_masks, dtype=bool).reshape(-1, k)

    def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return fit_head(x, y, HEAD_L2)

    # Calibration: each corpus fold is predicted by a head fitted without it.
    temperature = 1.0
    if cx.shape[0] >= 2 * CALIBRATION_FOLDS:
        fold = np.arange(cx.shape[0]) % CALIBRATION_FOLDS
        held_logits = np.zeros((cx.shape[0], k), dtype=np.float64)
        for f in range(CALIBRATION_FOLDS):
            w, b = fit(np.vstack([fixed_x, cx[fold != f]]), np.vstack([fixed_y, cy[fold != f]]))
            held_logits[fold == f] = Assigner(taxonomy, encoded, w, b, 1.0).logits(cx[fold == f])
        temperature = calibrate(held_logits, cy)
    w, b = fit(np.vstack([fixed_x, cx]), np.vstack([fixed_y, cy]))
    if len(_TRAINED) >= 4:
        _TRAINED.pop(next(iter(_TRAINED)))
    _TRAINED[key] = (w, b, temperature, fixed_x.shape[0] + cx.shape[0])
    _write_head(cache_dir, key, _TRAINED[key])
    log.info("themes: head trained on %d exemplars/descriptions and %d corpus requests (%s), calibration "
             "temperature %.2f, in %.1f s", fixed_x.shape[0], cx.shape[0], corpus.source or "no corpus",
             temperature, time.perf_counter() - started)
    return Assigner(taxonomy, encoded, w, b, temperature, n_train=fixed_x.shape[0] + cx.shape[0])


_TRAINED: dict[str, tuple[np.ndarray, np.ndarray, float, int]] = {}  # in-process: the same inputs train once


HEAD_CACHE_KEEP = 4


def _head_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "assigner" / f"{key[:32]}.npz"


def _packaged_folder() -> Path:
    """The head trained for the default taxonomy and model ships here, beside the packaged vectors (etl.embed)."""
    from etl import embed

    return embed.packaged_folder()


def _read_head(cache_dir: Path | None, key: str, touch: bool = True) -> tuple[np.ndarray, np.ndarray, float, int] | None:
    """The head trained for ``key`` from the cache folder, or None (missing or unreadable: train again)."""
    if cache_dir is None:
        return None
    path = _head_path(cache_dir, key)
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            out = (z["weights"], z["bias"], float(z["temperature"]), int(z["n_train"]))
    except (OSError, KeyError, ValueError):
        return None
    if touch:
        cachefiles.touch(path)
    return out


def _write_head(cache_dir: Path | None, key: str, head: tuple[np.ndarray, np.ndarray, float, int]) -> None:
    if cache_dir is None:
        return
    w, b, temperature, n_train = head
    try:
        cachefiles.write_whole(_head_path(cache_dir, key), lambda fh: np.savez(
            fh, key=np.array(key), weights=w, bias=b, temperature=np.array(temperature), n_train=np.array(n_train)),
            HEAD_CACHE_KEEP)
    except OSError as exc:  # a read-only or full cache must not fail the build
        log.warning("themes: could not cache the trained head in %s: %s", Path(cache_dir) / "assigner", exc)


def _assigner_key(taxonomy: Taxonomy, encoded: tuple, corpus: Corpus) -> str:
    """Everything the trained head depends on: theme ids, exemplar and description vectors, settings, corpus."""
    h = hashlib.sha256()
    h.update(repr((taxonomy.ids, taxonomy.settings(), encoded[2], HEAD_L2, CALIBRATION_FOLDS)).encode())
    h.update(np.ascontiguousarray(encoded[0]).tobytes())
    h.update(np.ascontiguousarray(encoded[1]).tobytes())
    h.update(repr((corpus.texts, corpus.allowed)).encode())
    return h.hexdigest()


def fit_head(x: np.ndarray, allowed: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression from set-valued labels: minimise
    −Σᵢ log Σ_{t ∈ allowedᵢ} softmax(xᵢW + b)_t + l2 · n · ‖W‖² (L-BFGS). ``x``: n × d, ``allowed``: n × k bool.
    Returns (W d × k, b k)."""
    from scipy.optimize import minimize

    x = np.asarray(x, dtype=np.float64)
    mask = np.asarray(allowed, dtype=bool)
    n, d = x.shape
    k = mask.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * k].reshape(d, k)
        b = theta[d * k :]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        in_set = np.where(mask, p, 0.0)
        mass = np.maximum(in_set.sum(axis=1, keepdims=True), 1e-300)
        q = in_set / mass
        value = -np.log(mass).sum() + l2 * n * (w * w).sum()
        g = p - q
        grad_w = x.T @ g + 2 * l2 * n * w
        return float(value), np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    from threadpoolctl import threadpool_limits

    # Small matrices: one BLAS thread is faster than several, which thrash on a busy machine.
    with threadpool_limits(1):
        result = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 300})
    theta = result.x
    return theta[: d * k].reshape(d, k).astype(np.float32), theta[d * k :].astype(np.float32)


def calibrate(logits: np.ndarray, allowed: np.ndarray) -> float:
    """The temperature T minimising the held-out set-valued log loss of softmax(logits / T): a 1-D search."""
    from scipy.optimize import minimize_scalar

    mask = np.asarray(allowed, dtype=bool)

    def nll(log_t: float) -> float:
        p = _softmax(logits / np.exp(log_t))
        return float(-np.log(np.maximum(np.where(mask, p, 0.0).sum(axis=1), 1e-300)).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def _strongest_chunk(own: np.ndarray, chunks: tuple[np.ndarray, np.ndarray], model: Assigner,
                     allowed: Sequence[Sequence[str] | None] | None, ids: list[str], floor: float) -> np.ndarray:
    """Per row, its own distribution unless that reading is weak (its top theme is ``other`` or below ``floor``):
    then the distribution of whichever of the row's chunks has the highest non-``other`` probability, if that beats
    the whole text's."""
    rows = np.asarray(chunks[0], dtype=np.int64)
    p = model.predict(_normalise(np.asarray(chunks[1], dtype=np.float32)))
    if allowed is not None:
        p = _restrict(p, [allowed[r] for r in rows], ids)
    o = ids.index(OTHER)
    harm = np.delete(p, o, axis=1).max(axis=1)
    best = np.delete(own, o, axis=1).max(axis=1)
    weak = (own.argmax(axis=1) == o) | (own.max(axis=1) < floor)
    out = own.copy()
    for j, r in enumerate(rows.tolist()):
        if weak[r] and harm[j] > best[r]:
            best[r] = harm[j]
            out[r] = p[j]
    return out


def _restrict(p: np.ndarray, allowed: Sequence[Sequence[str] | None], ids: list[str]) -> np.ndarray:
    """Zero the themes a row's source category rules out and renormalise (rows with None are unchanged)."""
    index = {t: j for j, t in enumerate(ids)}
    out = p.copy()
    for i, a in enumerate(allowed):
        cols = [index[t] for t in (a or ()) if t in index]
        if cols:
            keep = np.zeros(len(ids), dtype=bool)
            keep[cols] = True
            row = np.where(keep, out[i], 0.0)
            total = row.sum()
            out[i] = row / total if total > 0 else keep / keep.sum()
    return out


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def theme_scores(
    x: np.ndarray,
    exemplar_vecs: np.ndarray,
    description_vecs: np.ndarray,
    spans: list[tuple[int, int]],
    taxonomy: Taxonomy,
) -> np.ndarray:
    """m × k theme scores (cosine-similarity units) for m L2-normalised rows ``x``.

    ``spans[j]`` is the slice of ``exemplar_vecs`` holding theme j's exemplars (may be empty: the
    score is then the description similarity alone). ``other`` scores at least ``similarity_floor``.
    """
    sims = x @ exemplar_vecs.T  # m × n_exemplars
    desc = x @ description_vecs.T  # m × k
    w = taxonomy.description_weight
    scores = np.empty_like(desc)
    for j, (a, b) in enumerate(spans):
        if b == a:
            scores[:, j] = desc[:, j]
            continue
        # A theme with few exemplars averages fewer of them (one per 8), so one off-topic
        # exemplar in a short list does not drag its score down.
        k = min(taxonomy.exemplar_top_k, -(-(b - a) // 8))
        best = -np.partition(-sims[:, a:b], k - 1, axis=1)[:, :k]
        scores[:, j] = (1 - w) * best.mean(axis=1) + w * desc[:, j]
    other = taxonomy.ids.index(OTHER)
    scores[:, other] = np.maximum(scores[:, other], taxonomy.similarity_floor)
    return scores


def _encode_taxonomy(
    taxonomy: Taxonomy, encode: Callable[[list[str]], np.ndarray]
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Encode every exemplar and description once: (exemplar vectors, description vectors, spans)."""
    texts, descriptions, spans = _taxonomy_texts(taxonomy)
    vecs = _normalise(np.asarray(encode(texts + descriptions), dtype=np.float32))
    return vecs[: len(texts)], vecs[len(texts) :], spans


def _taxonomy_texts(taxonomy: Taxonomy) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """The texts the taxonomy is read from: (exemplars, one description per theme, each theme's exemplar span)."""
    texts: list[str] = []
    spans: list[tuple[int, int]] = []
    for t in taxonomy.themes:
        spans.append((len(texts), len(texts) + len(t.exemplars)))
        texts.extend(t.exemplars)
    return texts, [f"{t.name}: {t.description}" for t in taxonomy.themes], spans


def packaged_texts() -> list[str]:
    """Every text the default taxonomy and the corpus are embedded from: the texts whose vectors ship with the
    package for the default model (``etl.embed``'s packaged vectors), so a cold build does not embed them."""
    exemplars, descriptions, _ = _taxonomy_texts(load_taxonomy())
    return exemplars + descriptions + load_corpus().texts


def write_packaged_vectors() -> Path:
    """Embed ``packaged_texts()`` with the default model (torch float32) and write its packaged segment; run
    after editing the default taxonomy or the corpus (``make package-vectors``; a test fails until then)."""
    import tempfile

    from etl import embed

    with tempfile.TemporaryDirectory() as cache:
        embedder = embed.Embedder(cache_dir=cache, progress=False, precision="float32", backend="torch")
        embedder.use_packaged = False  # embed every text anew, never copy the segment being replaced
        path = embed.write_packaged_segment(packaged_texts(), embedder)
        # The head trained on exactly those vectors (as a cold build reads them), into the same folder.
        for old in (path.parent / "assigner").glob("*.npz"):
            old.unlink()
        _TRAINED.clear()
        train_assigner(load_taxonomy(), embed.Embedder(cache_dir=cache, progress=False, precision="float32",
                                                       backend="torch"), cache_dir=path.parent)
        return path


def _normalise(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _combine(own: np.ndarray, means: np.ndarray, weight: float) -> np.ndarray:
    """Row by row, two experts: p ∝ own · means^(weight / (1 − weight)) (weight 0.5: their plain product; weight 1:
    ``means`` alone). ``own`` and ``means``: m × k distributions. The one mixing rule, for clusters and neighbours."""
    if weight >= 1.0:
        return np.asarray(means, dtype=np.float32)
    log_p = np.log(np.maximum(own, 1e-30)) + weight / (1 - weight) * np.log(np.maximum(means, 1e-30))
    log_p -= log_p.max(axis=1, keepdims=True)
    mixed = np.exp(log_p)
    mixed /= mixed.sum(axis=1, keepdims=True)
    return mixed.astype(np.float32)


def _mix_with_clusters(own: np.ndarray, clusters: np.ndarray, weight: float) -> np.ndarray:
    """Combine each attack's own distribution with its cluster's mean own distribution as two experts
    (``_combine``: p ∝ own · mean^(weight / (1 − weight))); noise (-1) keeps its own.

    A product, not an average: when the two agree the attack becomes surer, when they disagree less sure. The
    average made every attack in a mixed real cluster look unsure (StrongREJECT: mean confidence 0.42 against 85 %
    right, calibration error 0.43); the product was also as accurate on the development sets (docs/taxonomy.md).
    """
    if own.shape[0] == 0 or weight == 0.0:
        return own
    uniq, inverse = np.unique(clusters, return_inverse=True)
    sums = np.zeros((uniq.shape[0], own.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, own)
    means = sums / np.bincount(inverse, minlength=uniq.shape[0])[:, None]
    mixed = _combine(own, means[inverse], weight)
    is_noise = clusters < 0
    mixed[is_noise] = own[is_noise]
    return mixed


NEIGHBOURS = 15  # like the map's UMAP n_neighbors (etl.reduce.N_NEIGHBORS)
# Exact neighbours over all not-cluster-mixed rows up to NEIGHBOUR_EXACT_MAX_ROWS of them; above, within strided blocks
# of at most NEIGHBOUR_BLOCK_ROWS. Measured (random 384-d vectors, 22 themes, 2 shared cores): 60,000 rows exact
# 37.5 s (load 4.8; quadratic, hence the low exact bound), 16,384 exact 3.2 s (load 1.3); in blocks from a VectorFile
# 100,000 rows 4.7 s (load 1.3) and 300,000 rows 15.8 s (load 1.7), so about 55 s at 1M (linear); anonymous memory
# +54 / +69 MB (the block and the m × themes result). The strided rows are read through a mapping of the file, whose
# read-ahead pages (page cache, reclaimable) show in RSS: +140 / +440 MB file-backed.
NEIGHBOUR_EXACT_MAX_ROWS = 16_384
NEIGHBOUR_BLOCK_ROWS = 8_192


def _mix_with_neighbours(own: np.ndarray, vectors: np.ndarray | VectorFile, rows: np.ndarray, weight: float,
                         k: int = NEIGHBOURS, exact_max: int = NEIGHBOUR_EXACT_MAX_ROWS,
                         block_rows: int = NEIGHBOUR_BLOCK_ROWS) -> np.ndarray:
    """The ``rows`` that are not mixed with their map cluster (their theme text is not the text the map embeds),
    mixed instead with their own neighbourhood: ``_combine`` of each row's own distribution (``own[rows]``) with the
    mean own distribution of its ``k`` nearest neighbours (cosine on ``vectors``, the theme-text vectors, self
    included) among ``rows``. Fewer than 2·k rows (or weight 0): ``own[rows]`` unchanged.

    Up to ``exact_max`` rows the neighbours are exact over all of ``rows`` (``etl.reduce.exact_knn``: blocked, no
    m × m matrix); above it, exact within deterministic strided blocks (``rows[b::n_blocks]``, each of at most
    ``block_rows`` rows and over half that), so the work grows linearly with the rows, not quadratically, and memory
    with the block (only one block's vectors are read at a time, also from a ``VectorFile``).
    """
    rows = np.asarray(rows, dtype=np.int64)
    m = rows.shape[0]
    out = own[rows].astype(np.float32, copy=True)
    if m < 2 * k or weight == 0.0:
        return out
    n_blocks = 1 if m <= exact_max else -(-m // block_rows)
    for b in range(n_blocks):
        at = np.arange(b, m, n_blocks)
        x = _normalise(np.asarray(vectors[rows[at]], dtype=np.float32))
        neighbours, _ = reduce.exact_knn(x, k)
        del x
        for lo in range(0, at.shape[0], _CHUNK_ROWS):  # the gathered neighbour distributions a chunk at a time
            part = at[lo : lo + _CHUNK_ROWS]
            means = own[rows[at][neighbours[lo : lo + _CHUNK_ROWS]]].mean(axis=1, dtype=np.float64)
            out[part] = _combine(out[part], means, weight)
    return out


def _cluster_modes(clusters: np.ndarray, theme_index: np.ndarray, mixed: np.ndarray, ids: list[str]) -> dict[int, str]:
    """Each cluster's most frequent assigned theme; ties go to the higher mean probability."""
    result: dict[int, str] = {}
    if clusters.shape[0] == 0:
        return result
    uniq, inverse = np.unique(clusters, return_inverse=True)
    counts = np.zeros((uniq.shape[0], len(ids)), dtype=np.float64)
    np.add.at(counts, (inverse, theme_index), 1.0)
    mass = np.zeros_like(counts)
    np.add.at(mass, inverse, mixed)
    # mass / (members + 1) < 1, so adding it to the counts only breaks ties between equal counts.
    best = (counts + mass / (mass.sum(axis=1, keepdims=True) + 1.0)).argmax(axis=1)
    for c, j in zip(uniq.tolist(), best.tolist(), strict=True):
        result[int(c)] = ids[j]
    return result
