"""ONNX Runtime backends of the embed stage: the same sentence-transformers model, exported once to ONNX.

``--embedding-backend onnx`` runs the model's float32 graph in ONNX Runtime; ``onnx-int8`` runs a copy whose
matrix multiplications are dynamically quantised to int8 (``onnxruntime.quantization.quantize_dynamic``).

The export is done once per model identity with ``torch.onnx`` from the local model folder (nothing is
downloaded) and cached in the cache folder::

    <cache>/onnx/<model key>/model.onnx        float32 graph: token ids -> unit sentence vectors
    <cache>/onnx/<model key>/model-int8.onnx   the int8 variant (made from model.onnx when first needed)
    <cache>/onnx/<model key>/<file>.json       manifest: size and SHA-256 of the file, model identity, versions

The graph holds the transformer, mean pooling over the attention mask and L2 normalisation, exactly the
modules of the model's sentence-transformers pipeline (Transformer -> Pooling(mean) -> Normalize), so its
output is what ``SentenceTransformer.encode(..., normalize_embeddings=True)`` returns. Tokenisation uses the
model's own ``tokenizer.json`` (the fast tokenizer sentence-transformers uses), truncated to the model's
``max_seq_length`` and padded per batch. Each file is written to a temporary name and renamed; a file whose
size or SHA-256 does not match its manifest (a partial copy, a disk error) is rebuilt, never used.

torch is imported only to export; a run whose export is cached loads ONNX Runtime and the tokenizer only.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from etl.errors import UserError

log = logging.getLogger("redteam_risk.embed")

ONNX_BACKENDS = ("onnx", "onnx-int8")
OPSET = 17
EXPORT_FORMAT = 1  # bump when the exported graph changes, so older exports are rebuilt


class OnnxEncoder:
    """Encode texts with an exported model: ``encode(texts, batch_size)`` -> (n, d) float32 unit vectors.

    ``model_path``: the sentence-transformers model folder; ``model_id``: its identity (``etl.embed``);
    ``folder``: where the exports are cached; ``backend``: "onnx" or "onnx-int8".
    """

    def __init__(self, model_path: Path | str, model_id: str, folder: Path, backend: str) -> None:
        if backend not in ONNX_BACKENDS:
            raise ValueError(backend)
        try:
            import onnxruntime
        except ImportError as exc:
            raise UserError(
                f"The {backend} embedding backend needs ONNX Runtime; install it with 'pip install onnxruntime onnx' "
                "or use --embedding-backend torch."
            ) from exc
        self.model_path = Path(model_path)
        self.backend = backend
        self.max_seq_length = max_seq_length(self.model_path)
        self.tokenizer = tokenizer(self.model_path, self.max_seq_length)
        path = ensure_export(self.model_path, model_id, folder, backend)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Worker threads sleep instead of spinning between batches: on a machine shared with other work (or with
        # the pipeline's own threads) spinning burns the cores the other work needs. Results are unaffected.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}

    def token_counts(self, texts: list[str]) -> list[int]:
        """Tokens of each text the model reads (special tokens included, truncated at ``max_seq_length``)."""
        return token_counts(self.tokenizer, texts)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit vectors of ``texts`` in their order; each batch is padded to its longest text."""
        out: np.ndarray | None = None
        for lo in range(0, len(texts), batch_size):
            enc = self.tokenizer.encode_batch(texts[lo : lo + batch_size])
            feeds = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            vectors = self.session.run(None, {k: v for k, v in feeds.items() if k in self.input_names})[0]
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[lo : lo + len(enc)] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def ensure_export(model_path: Path, model_id: str, folder: Path, backend: str) -> Path:
    """The cached ONNX file for ``backend``, exported (and quantised) first when it is missing or does not match
    its manifest. Raises ``UserError`` when the cache folder cannot be written."""
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    meta = {"model_id": model_id, "export_format": EXPORT_FORMAT, "opset": OPSET}
    if not _valid(fp32, meta):
        _export(model_path, fp32, meta)
    if backend == "onnx":
        return fp32
    int8 = folder / "model-int8.onnx"
    meta8 = {**meta, "quantised_from": _manifest(fp32)["sha256"]}
    if not _valid(int8, meta8):
        _quantise(fp32, int8, meta8)
    return int8


def _export(model_path: Path, path: Path, meta: dict) -> None:
    t0 = time.perf_counter()
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_path), device="cpu")
    module_types = [type(m).__name__ for m in st]
    if module_types[:2] != ["Transformer", "Pooling"] or module_types[2:] not in ([], ["Normalize"]):
        raise UserError(f"The ONNX embedding backends support Transformer + Pooling (+ Normalize) models; "
                        f"{model_path} has {', '.join(module_types)}. Use --embedding-backend torch.")
    pooling = st[1].get_config_dict().get("pooling_mode")
    if pooling not in ("mean", ["mean"]):
        raise UserError(f"The ONNX embedding backends support mean pooling; {model_path} uses {pooling!r}. "
                        "Use --embedding-backend torch.")
    transformer = st[0].auto_model.eval()

    class Sentence(torch.nn.Module):
        """Transformer -> mean pooling over the mask -> L2 normalisation, as sentence-transformers computes them."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            summed = (tokens * mask).sum(1)
            counts = torch.clamp(mask.sum(1), min=1e-9)
            return torch.nn.functional.normalize(summed / counts, p=2, dim=1)

    sample = st.tokenizer(["an example text", "a second, somewhat longer example text"], padding=True,
                          return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"], sample.get("token_type_ids",
                                                                       torch.zeros_like(sample["input_ids"])))
    tmp = _tmp(path)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's and exporter's notes (shapes are checked by the tests)
            torch.onnx.export(
                Sentence().eval(), args, str(tmp), input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["sentence_embedding"], opset_version=OPSET, dynamo=False,
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                              "token_type_ids": {0: "batch", 1: "tokens"}, "sentence_embedding": {0: "batch"}},
            )
        _commit(tmp, path, {**meta, "torch": torch.__version__})
    except OSError as exc:
        raise UserError(f"Cannot write the ONNX export to {path.parent}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.info("embed: exported %s to ONNX in %.1f s (%s)", model_path.name, time.perf_counter() - t0, path)


def _quantise(fp32: Path, path: Path, meta: dict) -> None:
    t0 = time.perf_counter()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = _tmp(path)
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # the quantiser logs a line per tensor (and advice) on the root logger
    try:
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8)
        _commit(tmp, path, meta)
    except OSError as exc:
        raise UserError(f"Cannot write the int8 ONNX model to {path.parent}: {exc}") from exc
    finally:
        root.setLevel(level)
        tmp.unlink(missing_ok=True)
    log.info("embed: quantised the ONNX model to int8 in %.1f s (%s)", time.perf_counter() - t0, path)


def _tmp(path: Path) -> Path:
    return path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")


def _commit(tmp: Path, path: Path, meta: dict) -> None:
    """Rename ``tmp`` to ``path`` and write its manifest (itself written whole), the manifest last, so a file
    without a matching manifest is never trusted."""
    manifest = {**meta, "size": tmp.stat().st_size, "sha256": _sha256(tmp),
                "onnxruntime": importlib.metadata.version("onnxruntime")}
    os.replace(tmp, path)
    mtmp = _tmp(_manifest_path(path))
    mtmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(mtmp, _manifest_path(path))


def _manifest_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _manifest(path: Path) -> dict:
    try:
        return json.loads(_manifest_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _valid(path: Path, meta: dict) -> bool:
    """Whether ``path`` exists, is the file its manifest describes (size and SHA-256) and was made from ``meta``."""
    manifest = _manifest(path)
    if not manifest or not path.is_file():
        return False
    if any(manifest.get(k) != v for k, v in meta.items()):
        log.info("embed: rebuilding %s (made for other settings)", path)
        return False
    try:
        ok = path.stat().st_size == manifest.get("size") and _sha256(path) == manifest.get("sha256")
    except OSError:
        ok = False
    if not ok:
        log.warning("embed: the cached ONNX file %s does not match its manifest (partial or damaged); rebuilding it",
                    path)
    return ok


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def max_seq_length(model_path: Path) -> int:
    """The model's ``max_seq_length`` from its sentence-transformers config (256 for all-MiniLM-L6-v2)."""
    try:
        config = json.loads((model_path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"The ONNX embedding backends need {model_path / 'sentence_bert_config.json'} with "
                        f"max_seq_length ({exc}); use --embedding-backend torch.") from exc


def token_counts(tok, texts: list[str]) -> list[int]:
    """Tokens of each of ``texts`` that ``tok`` (a ``tokenizer(...)``: truncating, padding) keeps, special tokens
    included."""
    return [sum(e.attention_mask) for e in tok.encode_batch(texts)]


def tokenizer(model_path: Path, max_length: int):
    from tokenizers import Tokenizer

    path = model_path / "tokenizer.json"
    if not path.is_file():
        raise UserError(f"The ONNX embedding backends need the model's fast tokenizer {path}; "
                        "use --embedding-backend torch.")
    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_length=max_length)
    pad_id = tok.token_to_id("[PAD]")
    tok.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    return tok
