"""ONNX Runtime embedding backends (etl/embed_onnx.py): vectors against float32 PyTorch on real prompts, the
cached export (made once, reused, rebuilt when damaged) and the separate embedding caches per backend.

One export per module (a temporary cache folder), about 15 s; the reference vectors are sentence-transformers'
own float32 PyTorch output for the same texts.
"""

from __future__ import annotations

import csv
import logging

import numpy as np
import pytest

from etl import embed, embed_onnx
from etl.embed import Embedder
from etl.errors import UserError
from tests.conftest import shared_file

pytest.importorskip("onnxruntime", reason="the ONNX backends need onnxruntime (pip install onnxruntime onnx)")

N_TEXTS = 200


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """200 real StrongREJECT forbidden prompts, plus an empty text and one longer than the model reads."""
    path = shared_file("strongreject/strongreject_dataset.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        prompts = [row["forbidden_prompt"] for row in csv.DictReader(fh)][:N_TEXTS]
    return prompts + ["", "Explain, step by step and in detail, how to " + "bypass the alarm and " * 120]


@pytest.fixture(scope="module")
def reference(texts) -> np.ndarray:
    return Embedder(progress=False, backend="torch")._load_model().encode(
        texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache folder holding both exports (float32 and int8), made once for the module."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    Embedder(cache_dir=folder, progress=False, backend="onnx-int8")._load_model()
    return folder


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_onnx_vectors_match_float32_pytorch(texts, reference, cache):
    e = Embedder(cache_dir=cache, progress=False, backend="onnx")
    got = e.encode(texts)
    assert got.shape == reference.shape and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert _cosines(got, reference).min() >= 0.999
    assert e.max_seq_length == 256


def test_onnx_int8_vectors_stay_close_but_are_not_float32_exact(texts, reference, cache):
    """Dynamic int8 quantisation costs accuracy (docs/performance.md has the figures); its vectors are kept
    apart from the float32 ones and must still be recognisably the same embedding."""
    got = Embedder(cache_dir=cache, progress=False, backend="onnx-int8").encode(texts)
    cos = _cosines(got, reference)
    assert cos.mean() >= 0.95 and cos.min() >= 0.8
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_each_backend_has_its_own_embedding_cache(cache, texts):
    Embedder(cache_dir=cache, progress=False, backend="onnx").encode(texts)  # cached already when run after the above
    paths = {b: Embedder(cache_dir=cache, progress=False, backend=b).cache_path for b in embed.BACKENDS}
    assert len(set(paths.values())) == 3
    assert paths["torch"].name == Embedder(cache_dir=cache, progress=False).cache_path.name  # unchanged for torch
    # a cached ONNX vector is never served to the torch backend: a fresh torch embedder finds an empty cache
    torch_embedder = Embedder(cache_dir=cache, progress=False, backend="torch")
    torch_embedder.use_packaged = False  # the package's own texts ship vectors for torch: only the cache is checked
    assert torch_embedder._load_cache() == {}
    onnx_embedder = Embedder(cache_dir=cache, progress=False, backend="onnx")
    assert len(onnx_embedder._load_cache()) == len(set(texts))


def test_the_export_is_made_once_and_reused(cache, caplog):
    folder = next((cache / "onnx").iterdir())
    model = folder / "model.onnx"
    before = model.stat().st_mtime_ns, model.stat().st_ino
    with caplog.at_level(logging.INFO, logger="redteam_risk.embed"):
        e = Embedder(cache_dir=cache, progress=False, backend="onnx")
        e._load_model()
    assert (model.stat().st_mtime_ns, model.stat().st_ino) == before
    assert not any("exported" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("damage", ["truncate", "flip", "no-manifest"])
def test_a_damaged_or_partial_export_is_rebuilt_not_used(cache, texts, reference, damage, caplog):
    folder = next((cache / "onnx").iterdir())
    model = folder / "model.onnx"
    if damage == "truncate":  # a partial copy
        data = model.read_bytes()
        model.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # same size, different bytes
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
    else:  # an export whose manifest was never written (interrupted between the two renames)
        (folder / "model.json").unlink()
    with caplog.at_level(logging.INFO, logger="redteam_risk.embed"):
        path = embed_onnx.ensure_export(embed._resolve_model(embed.DEFAULT_MODEL)[1], e_id(), folder, "onnx")
    assert any("exported" in r.getMessage() for r in caplog.records)
    assert embed_onnx._valid(path, {"model_id": e_id(), "export_format": embed_onnx.EXPORT_FORMAT,
                                    "opset": embed_onnx.OPSET})
    fresh = Embedder(cache_dir=cache / "vectors-after-rebuild", progress=False, backend="onnx")
    fresh._cache_root = cache  # same exports, empty vector cache
    got = fresh.encode(texts[:20])
    assert _cosines(got, reference[:20]).min() >= 0.999


def e_id() -> str:
    return embed._resolve_model(embed.DEFAULT_MODEL)[0]


def test_bad_backend_settings_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="Unknown embedding backend 'gpu'"):
        Embedder(cache_dir=tmp_path, backend="gpu")
    with pytest.raises(UserError, match="bfloat16 applies to the torch"):
        Embedder(cache_dir=tmp_path, backend="onnx", precision="bfloat16")
    assert Embedder(cache_dir=tmp_path, backend="onnx-int8", precision="auto").precision == "float32"
