"""Label stage: stable cluster ids, keywords, representative attacks and a readable label per cluster.

Input: the embedded texts, attack ids, raw HDBSCAN labels (``-1`` = unclustered), the embeddings
and the 2-D map positions, all row-aligned. Output: ``Labelled`` with the per-attack cluster id and
label, and a ``clusters`` frame with the columns of the published ``clusters`` table.

Cluster ids are renumbered by size (largest = 0), ties broken by the smallest attack id in the
cluster, so the same data always gets the same ids whatever numbering HDBSCAN used. ``-1`` stays
``-1`` and is labelled "Unclustered".

Keywords are class-based TF-IDF (BERTopic's c-TF-IDF): the term counts of all texts in a cluster,
L1-normalised per cluster, weighted by log(1 + mean words per cluster / the term's total count).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

log = logging.getLogger("redteam_risk.label")

NOISE_ID = -1
NOISE_LABEL = "Unclustered"
N_KEYWORDS = 10
N_REPRESENTATIVES = 5
LABEL_TERMS = 3  # keywords joined into a label
LABEL_SEPARATOR = " / "

CLUSTER_COLUMNS: dict[str, pl.DataType] = {
    "cluster_id": pl.Int32,
    "label": pl.String,
    "keywords": pl.List(pl.String),
    "representative_ids": pl.List(pl.String),
    "n_attacks": pl.Int64,
    "centroid_x": pl.Float64,
    "centroid_y": pl.Float64,
    "theme": pl.String,  # filled by the pipeline from the themes stage
}


@dataclass
class Labelled:
    """``cluster_ids``: (n,) int32 stable ids, -1 = unclustered; ``cluster_labels``: label per attack;
    ``clusters``: one row per cluster including -1 (when any attack is unclustered), ``CLUSTER_COLUMNS``."""

    cluster_ids: np.ndarray
    cluster_labels: list[str]
    clusters: pl.DataFrame


def stable_ids(raw_labels: np.ndarray, attack_ids: list[str], fixed: dict[int, int] | None = None) -> np.ndarray:
    """Renumber ``raw_labels`` 0..k-1 by cluster size descending, ties by smallest attack id; -1 kept.

    ``fixed`` (raw label -> id) keeps ids an earlier build published, e.g. when new attacks were placed into
    its clusters; other clusters are numbered after the largest fixed id. Ids can then have gaps (a cluster
    that lost all its attacks)."""
    raw = np.asarray(raw_labels)
    frame = pl.DataFrame({"raw": raw.astype(np.int64), "attack_id": pl.Series(attack_ids, dtype=pl.String)})
    order = (
        frame.filter(pl.col("raw") >= 0)
        .group_by("raw")
        .agg(pl.len().alias("n"), pl.col("attack_id").min().alias("first_id"))
        .sort(["n", "first_id"], descending=[True, False])
    )
    fixed = {int(r): int(i) for r, i in (fixed or {}).items() if r >= 0}
    rest = [r for r in order["raw"].to_list() if r not in fixed]
    start = max(fixed.values(), default=-1) + 1
    mapping = {**fixed, **dict(zip(rest, range(start, start + len(rest))))}
    return np.array([mapping.get(int(r), NOISE_ID) for r in raw], dtype=np.int32)


def label_clusters(
    texts: list[str],
    attack_ids: list[str],
    raw_labels: np.ndarray,
    embeddings: np.ndarray,
    xy: np.ndarray,
    n_keywords: int = N_KEYWORDS,
    n_representatives: int = N_REPRESENTATIVES,
    fixed_ids: dict[int, int] | None = None,
) -> Labelled:
    """Stable ids, keywords, representatives, labels and map centroids for every cluster.

    ``embeddings``: (n, d) unit vectors; ``xy``: (n, 2) map positions. Representatives are the
    attacks (distinct texts first) whose embedding is most similar to the cluster's mean embedding.
    ``fixed_ids``: raw label -> cluster id to keep (see ``stable_ids``).
    """
    start = time.perf_counter()
    n = len(texts)
    if not (len(attack_ids) == len(raw_labels) == embeddings.shape[0] == xy.shape[0] == n):
        raise ValueError("texts, attack_ids, raw_labels, embeddings and xy must have one row per attack")
    ids = stable_ids(raw_labels, attack_ids, fixed_ids)
    cluster_list = sorted(set(ids.tolist()) - {NOISE_ID}) + ([NOISE_ID] if (ids == NOISE_ID).any() else [])
    log.info("label: start, %d attacks in %d clusters", n, len(cluster_list))

    keywords = top_keywords(texts, ids, cluster_list, n_keywords)
    labels = unique_labels(cluster_list, keywords)
    rows = []
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    for cid in cluster_list:
        members = order[np.searchsorted(sorted_ids, cid, "left") : np.searchsorted(sorted_ids, cid, "right")]
        is_noise = cid == NOISE_ID
        rows.append({
            "cluster_id": cid,
            "label": labels[cid],
            "keywords": keywords[cid],
            "representative_ids": _representatives(members, texts, attack_ids, embeddings, n_representatives),
            "n_attacks": len(members),
            "centroid_x": None if is_noise else float(xy[members, 0].mean()),
            "centroid_y": None if is_noise else float(xy[members, 1].mean()),
            "theme": None,
        })
    clusters = pl.DataFrame(rows, schema=CLUSTER_COLUMNS) if rows else pl.DataFrame(schema=CLUSTER_COLUMNS)
    log.info("label: done in %.1f s", time.perf_counter() - start)
    return Labelled(cluster_ids=ids, cluster_labels=[labels[int(c)] for c in ids], clusters=clusters)


def top_keywords(texts: list[str], ids: np.ndarray, cluster_list: list[int], n_keywords: int = N_KEYWORDS) -> dict[int, list[str]]:
    """The ``n_keywords`` highest c-TF-IDF terms (words and two-word phrases) of each cluster.

    English stop words are removed; a term must occur in two texts when there are more than 100.
    A cluster whose texts have no usable words gets an empty list.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    empty = {cid: [] for cid in cluster_list}
    if not cluster_list:
        return empty
    vectorizer = CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2 if len(texts) > 100 else 1)
    try:
        counts = vectorizer.fit_transform(["" if t is None else t for t in texts])
    except ValueError:  # every text empty or only stop words
        return empty
    terms = vectorizer.get_feature_names_out()
    position = {cid: i for i, cid in enumerate(cluster_list)}
    rows = np.array([position[int(c)] for c in ids])
    membership = sp.csr_matrix((np.ones(len(ids)), (rows, np.arange(len(ids)))), shape=(len(cluster_list), len(ids)))
    tf = (membership @ counts).astype(np.float64).tocsr()  # (clusters, terms) term counts
    words_per_cluster = np.asarray(tf.sum(axis=1)).ravel()
    term_totals = np.asarray(tf.sum(axis=0)).ravel()
    idf = np.log(1.0 + words_per_cluster.mean() / np.maximum(term_totals, 1.0))
    row_sums = np.maximum(words_per_cluster, 1.0)
    scores = sp.diags(1.0 / row_sums) @ tf @ sp.diags(idf)
    scores = scores.tocsr()
    out = {}
    for cid, i in position.items():
        row = scores.getrow(i)
        if row.nnz == 0:
            out[cid] = []
            continue
        # Highest score first; on ties the phrase before its words (it says more), then alphabetical,
        # so the result does not depend on sparse storage order.
        best = sorted(zip(-row.data, [-t.count(" ") for t in terms[row.indices]], terms[row.indices]))
        out[cid] = [str(term) for *_, term in best[:n_keywords]]
    return out


def make_label(keywords: list[str], n_terms: int = LABEL_TERMS) -> str:
    """A short title-cased label from the first ``n_terms`` keywords that add a new word.

    A two-word keyword replaces the chosen single words it contains ("credit card" absorbs "card"
    and "credit"); any other keyword sharing a word with the label is skipped.
    """
    chosen: list[str] = []
    for kw in keywords:
        words = set(kw.split())
        absorbed = [c for c in chosen if set(c.split()) < words]
        if absorbed:
            chosen[chosen.index(absorbed[0])] = kw
            chosen = [c for c in chosen if c not in absorbed[1:]]
        elif not words & set(" ".join(chosen).split()) and len(chosen) < n_terms:
            chosen.append(kw)
    return LABEL_SEPARATOR.join(c.title() for c in chosen)


def unique_labels(cluster_list: list[int], keywords: dict[int, list[str]]) -> dict[int, str]:
    """A label per cluster id, no two alike. Clusters are labelled in id order (largest first); a
    later cluster whose label is taken gets one more keyword, else a number."""
    labels: dict[int, str] = {}
    taken = {NOISE_LABEL.casefold()}
    for cid in cluster_list:
        if cid == NOISE_ID:
            labels[cid] = NOISE_LABEL
            continue
        kws = keywords.get(cid, [])
        label = ""
        for n_terms in range(LABEL_TERMS, max(LABEL_TERMS, len(kws)) + 1):
            label = make_label(kws, n_terms) or f"Cluster {cid}"
            if label.casefold() not in taken:
                break
        base, k = label, 2
        while label.casefold() in taken:
            label, k = f"{base} ({k})", k + 1
        labels[cid] = label
        taken.add(label.casefold())
    return labels


def _representatives(
    members: np.ndarray, texts: list[str], attack_ids: list[str], embeddings: np.ndarray, k: int
) -> list[str]:
    if len(members) == 0:
        return []
    vecs = embeddings[members]
    centroid = vecs.mean(axis=0)
    sims = vecs @ centroid
    # Most central first; ties by attack id. Repeated texts are used only after distinct ones.
    order = sorted(range(len(members)), key=lambda i: (-float(sims[i]), attack_ids[members[i]]))
    seen: set[str] = set()
    distinct, repeats = [], []
    for i in order:
        text = texts[members[i]]
        (repeats if text in seen else distinct).append(attack_ids[members[i]])
        seen.add(text)
        if len(distinct) >= k:
            break
    return (distinct + repeats)[:k]
