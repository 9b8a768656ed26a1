"""``python -m bench.scale_memory DATA --work DIR [--fit-sample N] [--backend B] [--hash-embedder]``: one cold ETL
build of ``DATA`` in this process, for ``bench.rss`` to sample (``python -m bench.rss --out DIR -- python -m
bench.scale_memory …``). Prints the run's rows and stage seconds as one JSON line and writes it to
``DIR/run.json``.

``--hash-embedder`` swaps the sentence-transformers model for the tests' stand-in (hashed word and word-pair counts,
384-d unit vectors: ``tests.etl.test_place.HashEmbedder``), so every stage after the model — the sample fit, the
placement of every other row, labels, themes, metrics and the publish — runs for real on hundreds of thousands of rows
in minutes; only the model's own time and memory are left out (the model's memory does not depend on the rows: it
embeds 1,024 texts at a time). Without it the configured backend embeds every text (the real cold build).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--work", type=Path, required=True, help="folder for the database and a fresh cache")
    parser.add_argument("--fit-sample", type=int, default=40_000)
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument("--hash-embedder", action="store_true")
    parser.add_argument("--onnx-from", type=Path, help="a cache folder whose onnx/ exports to copy in first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")

    from etl import embed
    from etl.pipeline import EtlConfig, run

    if args.hash_embedder:
        from tests.etl.test_place import HashEmbedder

        embed.Embedder = HashEmbedder  # what the pipeline and the engines construct
    cache = args.work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    if args.onnx_from and (args.onnx_from / "onnx").is_dir():
        shutil.copytree(args.onnx_from / "onnx", cache / "onnx")
    t0 = time.perf_counter()
    summary = run(EtlConfig(inputs=(args.data,), db=args.work / "risk.duckdb", cache_dir=cache, progress=False,
                            reuse=False, fit_sample=args.fit_sample, embedding_backend=args.backend))
    out = {"data": str(args.data), "rows": summary.n_loaded, "fit_sample": args.fit_sample,
           "embedder": "hash (tests' stand-in)" if args.hash_embedder else args.backend,
           "seconds": round(time.perf_counter() - t0, 1), "stage_seconds": summary.stage_seconds,
           "clusters": summary.n_clusters}
    (args.work / "run.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
