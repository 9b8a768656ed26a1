"""``python -m bench.fit_sample``: fitting UMAP and HDBSCAN on a sample (``--fit-sample``) against fitting every row.

For the demo file at ``--rows`` (default 38,961) and each size in ``--sizes`` (plus the full fit), one fresh
process loads the vectors from an embedding cache (``--cache``: a cache holding them, e.g. the cold bench build's
``bench/results/tmp/work/cold/cache``; otherwise they are embedded first, once) and runs exactly what the
pipeline runs between embed and label: ``etl.reduce.reduce`` + ``etl.cluster.fit`` on all rows, or
``etl.place.fit_on_sample`` (stratified sample, fit, parallel placement of the rest). Reported per variant: wall
seconds of that part, peak RSS of the process, cluster NMI against the demo's true subtopic (noise as one label,
and over clustered rows only), the noise share, the number of clusters and the adjusted Rand index against the
full fit's clusters. Numbers, never pass/fail. Writes ``bench/results/fit_sample.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.suite import MAIN_SEED, RESULTS, ROOT, TMP, Suite


def _one(spec: dict) -> dict:
    import polars as pl
    from sklearn.metrics import normalized_mutual_info_score

    from etl import cluster, embed, place, reduce, sources

    cache = Path(spec["cache"])
    reduce.configure_numba_cache(cache)
    attacks = sources.load([Path(spec["input"])], progress=False).attacks
    if spec.get("limit"):
        attacks = attacks.head(spec["limit"])
    texts = embed.embedding_texts(attacks)
    vectors = embed.Embedder(cache_dir=cache, progress=False).encode(texts)
    keys = embed.text_keys(texts)
    rss_vectors = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    if spec["size"]:
        sample = place.sample_rows(attacks.select(place.SAMPLE_STRATA), spec["size"], 0)
        fit = place.fit_parameters("bench", "float32", embed.DEFAULT_TEXT_SPEC, 0, None, fit_sample=spec["size"])
        placed, _, info = place.fit_on_sample(vectors, keys, sample, "bench", fit, 0, None, cache)
        labels = placed.raw_labels
        detail = {"placement": info, "place_seconds": placed.reduced.seconds}
    else:
        reduced = reduce.reduce(vectors, seed=0)
        labels = cluster.fit(reduced.z).labels
        detail = {"reduce_seconds": reduced.seconds}
    seconds = time.perf_counter() - t0
    np.save(spec["labels_out"], labels)
    truth = pl.read_parquet(spec["input"] + ".truth.parquet")
    joined = attacks.select("source_row").with_columns(pl.Series("label", labels)).join(truth, on="source_row")
    clustered = joined.filter(pl.col("label") >= 0)
    return {
        "size": spec["size"], "rows": len(texts), "fit_and_place_s": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_vectors_mb": round(rss_vectors, 1),
        "nmi": round(float(normalized_mutual_info_score(joined["subtopic"], joined["label"])), 4),
        "nmi_clustered": round(float(normalized_mutual_info_score(clustered["subtopic"], clustered["label"])), 4),
        "noise_share": round(float((labels < 0).mean()), 4), "n_clusters": int(labels.max()) + 1,
        "load_avg_1m": os.getloadavg()[0], **detail,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fit_sample", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=38961)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 20000])
    parser.add_argument("--cache", type=Path, default=None, help="an embedding cache to copy the vectors from")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first LIMIT rows of the demo file (a smaller measurement whose vectors "
                             "are already in the cache of the full file)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_one(json.loads(args.one))))
        return 0
    suite = Suite()
    data = suite.dataset(args.rows, MAIN_SEED)
    work = TMP / "work" / "fit_sample"
    cache = work / "cache"
    if args.cache is not None and not (cache / "embeddings").is_dir():
        shutil.copytree(args.cache / "embeddings", cache / "embeddings")
    results = []
    labels = {}
    for size in [0, *args.sizes]:
        out = work / f"labels-{size}.npy"
        spec = {"input": str(data), "cache": str(cache), "size": size, "labels_out": str(out), "limit": args.limit}
        print(f"[fit_sample] {'all rows' if not size else f'sample {size}'} ...", file=sys.stderr, flush=True)
        with open(suite.log_path(f"fit_sample-{size}"), "w") as log:
            done = subprocess.run([sys.executable, "-m", "bench.fit_sample", "--one", json.dumps(spec)], cwd=ROOT,
                                  env=suite.env(), stdout=subprocess.PIPE, stderr=log, text=True, check=False)
        if done.returncode != 0:
            print(f"[fit_sample] size {size} failed; see {suite.log_path(f'fit_sample-{size}')}", file=sys.stderr)
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        labels[size] = np.load(out)
        if size and 0 in labels:
            from sklearn.metrics import adjusted_rand_score

            result["ari_vs_full"] = round(float(adjusted_rand_score(labels[0], labels[size])), 4)
        results.append(result)
    (RESULTS / "fit_sample.json").write_text(json.dumps({"rows": args.rows, "limit": args.limit,
                                                         "variants": results}, indent=2))
    print("| fit on | fit+place s | peak RSS MB | NMI | NMI clustered | noise | clusters | ARI vs full |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['size'] or 'all'} | {r['fit_and_place_s']} | {r['peak_rss_mb']} | {r['nmi']} | "
              f"{r['nmi_clustered']} | {r['noise_share']} | {r['n_clusters']} | {r.get('ari_vs_full', '')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
