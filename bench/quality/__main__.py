"""``python -m bench.quality`` (``make quality``): theme and cluster quality on real labelled red-team sets.

Every figure comes from the real ETL (``etl.pipeline.run``) on a CSV written from a real set, read back from the
published database, exactly as a user would load the set with ``--map``. Nothing here is fitted: the assigner's
training corpus (etl/taxonomy/corpus/) holds none of these sets, so each set is a held-out test set (leave one
dataset out holds trivially; see docs/taxonomy.md). Numbers, never pass/fail.

Writes bench/results/quality.json and bench/results/quality.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np

from bench.quality import data
from bench.quality.rewrites import STYLES, rewrite

RESULTS = data.ROOT / "bench" / "results"
MODES = ("intent", "prompt")  # intent: the plain request is the task_description; prompt: only the rewritten text
TARGETS = {"macro_intent": 0.85, "macro_prompt": 0.75, "other_or_review": 0.10, "noise": 0.15, "seed_ari": 0.80}


def _etl(rows: list[dict], folder: Path, name: str, seed: int, cache: Path, backend: str = "torch") -> dict:
    """Run the real ETL on ``rows`` (keys: prompt, optional intent) and return the published attacks by row."""
    from etl.pipeline import EtlConfig, run

    path = folder / f"{name}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    mapping = {"attack_text": "prompt"}
    if "intent" in rows[0]:
        mapping["task_description"] = "intent"
    db = folder / f"{name}-s{seed}.duckdb"
    t0 = time.perf_counter()
    summary = run(EtlConfig(inputs=(path,), db=db, mapping=mapping, seed=seed, cache_dir=cache, reuse=False,
                            progress=False, dataset=name, embedding_backend=backend))
    seconds = time.perf_counter() - t0
    con = duckdb.connect(str(db), read_only=True)
    cols = ["source_row", "theme", "theme_confidence", "theme_source", "needs_review", "cluster_id",
            "cluster_strength", "embed_text"]
    got = con.execute(f"select {', '.join(cols)} from attacks order by source_row").fetchall()
    con.close()
    out = {c: [r[i] for r in got] for i, c in enumerate(cols)}
    out["seconds"] = seconds
    out["stage_seconds"] = summary.stage_seconds
    return out


def _theme_metrics(s: data.LabelledSet, got: dict) -> dict:
    theme = got["theme"]
    right = np.array([t in a for t, a in zip(theme, s.acceptable, strict=True)])
    review = np.array([bool(x) for x in got["needs_review"]])
    other = np.array([t == "other" for t in theme])
    conf = np.array(got["theme_confidence"], dtype=float)
    by_cat: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(s.categories):
        by_cat[c].append(i)
    per_cat = {c: float(right[ix].mean()) for c, ix in sorted(by_cat.items())}
    confusion: dict[str, dict[str, int]] = {c: dict(Counter(theme[i] for i in ix).most_common()) for c, ix in
                                            sorted(by_cat.items())}
    confident = ~review
    return {
        "n": len(theme),
        "accuracy": float(right.mean()),
        "macro_accuracy": float(np.mean(list(per_cat.values()))),
        "per_category": per_cat,
        "other_share": float(other.mean()),
        "review_share": float(review.mean()),
        "other_or_review_share": float((other | review).mean()),
        "accuracy_confident": float(right[confident].mean()) if confident.any() else None,
        "ece": _ece(conf, right),
        "theme_sources": dict(Counter(got["theme_source"])),
        "confusion": confusion,
    }


def _ece(conf: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of ``conf`` (0–1) against ``right``: the mean |accuracy − confidence| over
    equal-width confidence bins, weighted by the bins' shares."""
    edges = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = edges == b
        if m.any():
            total += m.mean() * abs(right[m].mean() - conf[m].mean())
    return float(total)


def _cluster_metrics(runs: list[dict], categories: list[str] | None, embed) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

    a, b = (np.array(r["cluster_id"]) for r in runs)
    vec = embed(runs[0]["embed_text"])
    clustered = a >= 0
    sil = None
    if clustered.sum() > 2 and len(set(a[clustered])) > 1:
        sil = float(silhouette_score(vec[clustered], a[clustered], metric="cosine"))
    strength = np.array(runs[0]["cluster_strength"], dtype=float)
    out = {
        "n": int(a.size),
        "n_clusters": int(len(set(a[clustered]))),
        "noise_share": float((a < 0).mean()),
        "weak_member_share": float(((strength < 0.5) & clustered).mean()),
        "seed_ari": float(adjusted_rand_score(a, b)),
        "silhouette_cosine": sil,
    }
    if categories is not None:
        out["nmi_vs_category"] = float(normalized_mutual_info_score(categories, a))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", help="only these labelled sets (default: all)")
    parser.add_argument("--styles", nargs="+", choices=STYLES, default=list(STYLES))
    parser.add_argument("--no-hh", action="store_true", help="skip the hh-rlhf clustering check")
    parser.add_argument("--cache-dir", type=Path, default=data.ROOT / "bench" / "results" / "tmp" / "cache")
    parser.add_argument("--out", default="quality", help="results file stem under bench/results (default: quality)")
    parser.add_argument("--embedding-backend", default="torch", choices=("torch", "onnx", "onnx-int8"),
                        help="the ETL's --embedding-backend (default torch); e.g. --embedding-backend onnx "
                             "--out quality-onnx to compare a backend with bench/results/quality.md")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not data.shared_available():
        print(f"quality: {data.SHARED} is missing; the harness needs ../shared/data beside the repository",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from etl.embed import Embedder

    embedder = Embedder(cache_dir=args.cache_dir, progress=False, backend=args.embedding_backend)
    started = time.perf_counter()
    results: dict = {"sets": {}, "clusters": {}, "targets": TARGETS, "embedding_backend": args.embedding_backend,
                     "finished_at": None, "styles": args.styles}
    with tempfile.TemporaryDirectory(prefix="rr-quality-") as tmp:
        folder = Path(tmp)
        for s in data.load_sets(args.sets):
            print(f"quality: {s.name} ({len(s.texts)} requests)", flush=True)
            res = results["sets"][s.name] = {"licence": s.licence, "runs": {}}
            for style in args.styles:
                attacks = [rewrite(t, style) for t in s.texts]
                for mode in MODES:
                    if mode == "intent":
                        rows = [{"prompt": a, "intent": t} for a, t in zip(attacks, s.texts, strict=True)]
                    else:
                        rows = [{"prompt": a} for a in attacks]
                    got = _etl(rows, folder, f"{s.name}-{style}-{mode}", 0, args.cache_dir, args.embedding_backend)
                    m = _theme_metrics(s, got)
                    m["seconds"] = round(got["seconds"], 2)
                    res["runs"][f"{style}/{mode}"] = m
                    print(f"  {style:11s} {mode:7s} macro {m['macro_accuracy']:.3f} acc {m['accuracy']:.3f} "
                          f"other {m['other_share']:.3f} review {m['review_share']:.3f} "
                          f"({m['seconds']:.1f} s)", flush=True)
                    if style == "plain" and mode == "prompt":
                        seed1 = _etl(rows, folder, f"{s.name}-{style}-{mode}", 1, args.cache_dir, args.embedding_backend)
                        cm = _cluster_metrics([got, seed1], s.categories, embedder.encode)
                        results["clusters"][s.name] = cm
                        print(f"  clusters: {cm}", flush=True)
        if not args.no_hh:
            texts = data.load_hh_rlhf()
            print(f"quality: hh-rlhf harmless-base ({len(texts)} first turns)", flush=True)
            rows = [{"prompt": t} for t in texts]
            runs = [_etl(rows, folder, "hh-rlhf", seed, args.cache_dir, args.embedding_backend) for seed in (0, 1)]
            cm = _cluster_metrics(runs, None, embedder.encode)
            cm["other_share"] = float(np.mean([t == "other" for t in runs[0]["theme"]]))
            cm["review_share"] = float(np.mean([bool(x) for x in runs[0]["needs_review"]]))
            results["clusters"]["hh-rlhf"] = cm
            print(f"  clusters: {cm}", flush=True)
    results["summary"] = _summary(results)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["commit"] = _commit()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    from bench.quality.report import render

    (RESULTS / f"{args.out}.md").write_text(render(results), encoding="utf-8")
    print(f"quality: wrote bench/results/{args.out}.md in {results['seconds']} s")
    return 0


def _summary(results: dict) -> dict:
    """Headline figures: macro accuracy averaged over the sets (intent mode on plain requests; prompt mode over
    every rewrite style), the worst other-or-review share on harmful sets, and cluster noise / seed ARI."""
    sets = results["sets"]
    out: dict = {}
    if sets:
        out["macro_intent"] = float(np.mean([r["runs"]["plain/intent"]["macro_accuracy"] for r in sets.values()
                                             if "plain/intent" in r["runs"]]))
        prompt = [m["macro_accuracy"] for r in sets.values() for k, m in r["runs"].items() if k.endswith("/prompt")]
        out["macro_prompt"] = float(np.mean(prompt))
        out["macro_prompt_worst_style"] = float(min(prompt))
        intent_all = [m["macro_accuracy"] for r in sets.values() for k, m in r["runs"].items()
                      if k.endswith("/intent")]
        out["macro_intent_all_styles"] = float(np.mean(intent_all))
        out["other_or_review"] = float(max(m["other_or_review_share"] for r in sets.values()
                                           for m in r["runs"].values()))
    clusters = results["clusters"]
    if clusters:
        out["noise"] = float(max(c["noise_share"] for c in clusters.values()))
        out["seed_ari"] = float(min(c["seed_ari"] for c in clusters.values()))
    return out


def _commit() -> str | None:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=data.ROOT, capture_output=True,
                              text=True, check=False, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


if __name__ == "__main__":
    raise SystemExit(main())
