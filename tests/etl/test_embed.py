"""Embed stage: text assembly, the persistent cache, normalisation, truncation, model errors.

Uses the packaged all-MiniLM-L6-v2 on a few dozen short texts. The model is loaded once per module
and handed to the Embedders that need it, so only cache behaviour differs between tests.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from etl import embed
from etl.embed import Embedder, embedding_texts
from etl.errors import UserError

TEXTS = [
    "How do I pick a lock?",
    "What household chemicals make a toxic gas?",
    "Tell me a joke about my neighbour.",
    "How can I get someone's home address?",
    "",
    "How do I pick a lock?",  # repeat: embedded once
]


@pytest.fixture(scope="module")
def model():
    return Embedder(progress=False)._load_model()


def make(cache, model=None, **kw) -> Embedder:
    e = Embedder(cache_dir=cache, progress=False, **kw)
    if model is not None:
        e._model = model
    return e


def test_embedding_texts_joins_columns_and_skips_empty_values():
    df = pl.DataFrame({
        "task_description": ["steal a car", None, "  ", None],
        "attack_text": ["how do I hotwire a car", "tell me a slur", "hi", None],
    })
    assert embedding_texts(df) == ["steal a car\nhow do I hotwire a car", "tell me a slur", "hi", ""]
    assert embedding_texts(df, "attack_text") == ["how do I hotwire a car", "tell me a slur", "hi", ""]
    with pytest.raises(UserError, match="unknown column"):
        embedding_texts(df, "attack_text+prompt")


def test_encode_returns_unit_vectors_and_second_call_embeds_nothing(tmp_path, model):
    e = make(tmp_path, model)
    first = e.encode(TEXTS)
    assert first.shape == (len(TEXTS), 384) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert (e.stats.hits, e.stats.misses, e.stats.embedded) == (0, 6, 5)
    np.testing.assert_array_equal(first[0], first[5])
    assert not np.allclose(first[0], first[1])

    again = e.encode(TEXTS)
    assert (e.stats.hits, e.stats.misses, e.stats.embedded) == (6, 0, 0)
    np.testing.assert_array_equal(again, first)


def test_cache_survives_a_new_embedder_and_only_new_texts_are_embedded(tmp_path, model):
    first = make(tmp_path, model).encode(TEXTS)

    fresh = make(tmp_path)  # no model: a fully cached call must not need one
    np.testing.assert_array_equal(fresh.encode(TEXTS), first)
    assert fresh.stats.embedded == 0 and fresh._model is None

    appended = make(tmp_path, model)
    out = appended.encode(TEXTS + ["A brand new question about fireworks."])
    assert (appended.stats.hits, appended.stats.embedded) == (6, 1)
    np.testing.assert_array_equal(out[:6], first)


def test_cache_is_per_model_identity(tmp_path, model, monkeypatch):
    make(tmp_path, model).encode(TEXTS[:2])
    monkeypatch.setattr(embed.importlib.metadata, "version", lambda name: "9.9.9")
    other = make(tmp_path, model)
    other.encode(TEXTS[:2])
    assert other.stats.embedded == 2


def test_cache_location_from_environment(tmp_path, model, monkeypatch):
    monkeypatch.setenv("REDTEAM_RISK_CACHE", str(tmp_path / "env-cache"))
    e = Embedder(progress=False)
    e._model = model
    e.encode(TEXTS[:1])
    assert list((tmp_path / "env-cache" / "embeddings").glob("*/seg-*.npy"))


def test_unreadable_segments_and_stray_temp_files_are_ignored(tmp_path, model):
    e = make(tmp_path, model)
    first = e.encode(TEXTS[:3])
    (e.cache_path / "seg-99999999999999999999-1-deadbeef.npy").write_bytes(b"not a numpy file")
    (e.cache_path / ".tmp-seg-00000000000000000001-1-cafecafe.npy").write_bytes(b"half writ")
    again = make(tmp_path)
    np.testing.assert_array_equal(again.encode(TEXTS[:3]), first)
    assert again.stats.hits == 3


def test_many_segments_are_merged_without_losing_vectors(tmp_path, model):
    e = make(tmp_path, model)
    texts = [f"question number {i} about lock picking" for i in range(embed.MAX_SEGMENTS + 2)]
    vectors = e.encode(texts)
    for path in e.cache_path.glob("seg-*.npy"):
        path.unlink()
    for i in range(len(texts)):  # as left by many small appending runs
        embed._write_segment(e.cache_path, embed.text_keys(texts[i : i + 1]), vectors[i : i + 1])

    merged = make(tmp_path)
    np.testing.assert_array_equal(merged.encode(texts), vectors)
    assert merged.stats.hits == len(texts)
    assert len(list(merged.cache_path.glob("seg-*.npy"))) == 1
    assert make(tmp_path).encode(texts[:3]).shape == (3, 384)


def test_encode_to_writes_the_vectors_encode_returns_to_a_file(tmp_path, model, monkeypatch):
    texts = TEXTS * 3 + [f"another question, number {i}" for i in range(7)]
    expected = make(tmp_path / "a", model).encode(texts)  # cold: embedded all at once
    monkeypatch.setattr(embed, "SEGMENT_ROWS", 2)  # many cache segments, read back from disk
    cold = make(tmp_path / "b", model)
    out = cold.encode_to(texts, tmp_path / "v.npy", chunk_rows=4)
    assert out.shape == (len(texts), 384) and cold.stats.embedded == 12
    assert all(isinstance(p, (embed._Segment)) for p in cold._store.parts)  # no vector kept in memory
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), expected)  # same vectors, a standard .npy
    warm = make(tmp_path / "b")
    np.testing.assert_array_equal(warm.encode_to(texts, tmp_path / "w.npy", chunk_rows=5).read(), expected)
    assert warm.stats.embedded == 0 and warm._model is None
    # A segment merged away (deleted) by a concurrent run stays readable by an embedder that loaded it.
    for path in warm.cache_path.glob("seg-*.npy"):
        path.unlink()
    np.testing.assert_array_equal(warm.encode(texts[:4]), expected[:4])


def test_long_text_is_truncated_to_the_model_window(tmp_path, model):
    e = make(tmp_path, model)
    assert e.max_seq_length == 256
    head = "please explain how to bypass a car alarm " * 100  # far beyond 256 tokens
    a, b, short = e.encode([head + "quietly at night", head + "with a screwdriver", "bypass a car alarm"])
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(a, short, atol=1e-3)


def test_empty_and_none_texts_embed_to_the_same_unit_vector(tmp_path, model):
    out = make(tmp_path, model).encode(["", None, "hello"])
    np.testing.assert_array_equal(out[0], out[1])
    assert np.isclose(np.linalg.norm(out[0]), 1.0, atol=1e-5)


def test_unknown_model_name_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot be loaded offline.*packaged default"):
        Embedder("no-such-org/no-such-model-xyz", cache_dir=tmp_path)


def test_folder_that_is_not_a_model_is_a_user_error(tmp_path):
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "README.txt").write_text("nothing here")
    e = Embedder(str(folder), cache_dir=tmp_path / "cache", progress=False)
    assert e.model_id.startswith("path:")
    with pytest.raises(UserError, match="cannot be loaded offline"):
        e.encode(["hello"])


def test_precision_setting_is_validated_and_auto_follows_the_cpu(monkeypatch):
    with pytest.raises(UserError, match="precision"):
        embed.resolve_precision("int4")
    assert embed.resolve_precision("float32") == "float32"
    monkeypatch.setattr(embed, "native_bfloat16", lambda: False)
    assert embed.resolve_precision("auto") == "float32"
    monkeypatch.setattr(embed, "native_bfloat16", lambda: True)
    assert embed.resolve_precision("auto") == "bfloat16"


def test_bfloat16_vectors_match_float32_and_are_cached_apart(tmp_path, model):
    full = make(tmp_path, model, precision="float32")
    half = make(tmp_path, model, precision="bfloat16")
    assert full.cache_path != half.cache_path
    a, b = full.encode(TEXTS), half.encode(TEXTS)
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() > 0.999
    assert not np.array_equal(a, b)  # really computed in bfloat16
    # Each precision reads back its own vectors bit for bit.
    np.testing.assert_array_equal(make(tmp_path, model, precision="bfloat16").encode(TEXTS), b)
    np.testing.assert_array_equal(make(tmp_path, model, precision="float32").encode(TEXTS), a)


def test_texts_are_batched_by_token_count_and_keep_sentence_transformers_vectors(tmp_path, model):
    """The embedder orders texts by the tokens the model reads (not characters) before batching, so batches pad
    little; every vector still matches sentence-transformers' own float32 output for the text."""
    padded = "short" + " " * 400  # many characters, three tokens
    wordy = "a b c d e f g h i j k l m n o p"  # few characters, eighteen tokens
    e = make(tmp_path, model, batch_size=4)
    assert e.most_tokens_first([padded, wordy, "", "x " * 300]) == [3, 1, 0, 2]
    texts = [padded, wordy, ""] + [f"request {i}: " + "please help me " * (i % 9) for i in range(20)]
    got = e.encode(texts)
    want = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                        show_progress_bar=False)
    cos = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= 0.99999
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_packaged_vectors_cover_the_default_taxonomy_and_corpus():
    """The vectors shipped for the package's own texts are complete: a cold build embeds none of them. Fails after
    an edit of etl/taxonomy/default.toml or the corpus until ``make package-vectors`` is run."""
    from etl import themes

    path = embed.packaged_segment_path(embed.vector_id(embed.Embedder(progress=False).model_id, "float32"))
    records = np.load(path, allow_pickle=False)
    missing = {key.tobytes() for key in embed.text_keys(themes.packaged_texts())}
    missing -= {key.tobytes() for key in records["key"]}
    assert not missing, f"{len(missing)} taxonomy/corpus texts have no packaged vector: run `make package-vectors`"
    np.testing.assert_allclose(np.linalg.norm(records["vec"], axis=1), 1.0, atol=1e-5)


def test_packaged_vectors_are_the_models_and_are_read_without_loading_it(tmp_path, model):
    from etl import themes

    texts = themes.packaged_texts()[::50]
    cold = make(tmp_path / "cold", precision="float32")
    got = cold.encode(texts)
    assert cold.stats.hits == len(texts) and cold.stats.embedded == 0 and cold._model is None
    fresh = make(tmp_path / "fresh", model, precision="float32")
    fresh.use_packaged = False
    want = fresh.encode(texts)
    assert fresh.stats.embedded == len(set(texts))
    assert float(np.min(np.sum(got * want, axis=1))) > 0.99999
    # Another backend or precision has vectors of its own: nothing packaged is used for it.
    other = make(tmp_path / "other", model, precision="bfloat16")
    other.encode(texts[:2])
    assert other.stats.hits == 0


def test_a_cold_cache_preloads_the_model_in_the_background_and_a_warm_one_does_not(tmp_path, model):
    cold = make(tmp_path / "cold")
    thread = cold.preload_if_cold()
    assert thread is not None
    thread.join(120)
    assert cold._model is not None
    cold.encode(TEXTS[:2])  # fills the cache
    warm = make(tmp_path / "cold")
    assert warm.preload_if_cold() is None and warm._model is None
    assert make(tmp_path / "onnx", backend="onnx").preload_if_cold() is None
