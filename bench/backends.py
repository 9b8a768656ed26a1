"""``python -m bench.backends``: the embedding backends side by side on demo texts (a small measurement, minutes).

For each backend (``etl.embed.BACKENDS``) in one process: texts per second of the embed stage's own model path
(``Embedder._embed``: the pipeline's batch size, into an empty cache; the ONNX export is made
before timing) on the same texts, beside sentence-transformers' plain ``encode`` (``torch-st``, what BERTopic runs),
and each vector's cosine to sentence-transformers' float32 PyTorch ``encode`` (min / mean / 1st percentile). The
backends run in the order given and then again in reverse, so a change of machine load shows as a difference
between the two passes. Prints a Markdown table and writes ``bench/results/backends.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.suite import MAIN_SEED, RESULTS, Suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backends", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="demo rows whose texts are embedded (default 2000)")
    parser.add_argument("--backends", nargs="+", default=None, help="default: all of etl.embed.BACKENDS")
    parser.add_argument("--out", default="backends", help="results file stem under bench/results")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from etl import embed, sources

    backends = args.backends or list(embed.BACKENDS)
    data = Suite().dataset(args.rows, MAIN_SEED)
    texts = embed.embedding_texts(sources.load([data], progress=False).attacks)
    texts = sorted(set(texts), key=lambda t: -len(t))  # distinct texts, as the ETL embeds each once
    keys = embed.text_keys(texts)
    if "torch" in backends:
        backends = ["torch-st", *backends]
    encoders, seconds = {}, {b: [] for b in backends}
    vectors = {}
    with tempfile.TemporaryDirectory(prefix="rr-backends-") as cache:
        for b in backends:
            e = embed.Embedder(cache_dir=Path(cache), progress=False, backend=b.removesuffix("-st"))
            encoders[b] = e._load_model()
        for n, b in enumerate(backends + backends[::-1]):
            t0 = time.perf_counter()
            if b == "torch-st":  # sentence-transformers' own batching (characters, longest first)
                v = encoders[b].encode(texts, batch_size=embed.BATCH_SIZE, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False)
            else:  # the embed stage's path, into an empty cache of its own
                e = embed.Embedder(cache_dir=Path(cache) / f"{b}-{n}", progress=False, backend=b)
                e._model, e._index = encoders[b], {}
                v = e._embed(texts, keys)
            seconds[b].append(time.perf_counter() - t0)
            vectors[b] = np.asarray(v, dtype=np.float32)
    ref = vectors.get("torch-st")
    rows = {}
    for b in backends:
        row = {"texts": len(texts), "seconds": [round(s, 2) for s in seconds[b]],
               "texts_per_s": [round(len(texts) / s, 1) for s in seconds[b]]}
        if ref is not None:
            cos = (vectors[b] * ref).sum(1) / (np.linalg.norm(vectors[b], axis=1) * np.linalg.norm(ref, axis=1))
            row.update(cos_min=float(cos.min()), cos_p01=float(np.percentile(cos, 1)), cos_mean=float(cos.mean()))
        rows[b] = row
    result = {"rows": args.rows, "distinct_texts": len(texts), "batch_size": embed.BATCH_SIZE,
              "load_avg": os.getloadavg(), "cpus": os.cpu_count(), "backends": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{len(texts)} distinct demo texts ({args.rows} rows), batch {embed.BATCH_SIZE}, "
          f"load average {result['load_avg'][0]:.1f} at the end")
    print("| backend | texts/s (pass 1, pass 2) | cosine to torch: min | 1st pct | mean |")
    print("|---|---:|---:|---:|---:|")
    for b, r in rows.items():
        print(f"| {b} | {r['texts_per_s'][0]}, {r['texts_per_s'][1]} | {r.get('cos_min', float('nan')):.6f} | "
              f"{r.get('cos_p01', float('nan')):.6f} | {r.get('cos_mean', float('nan')):.6f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
