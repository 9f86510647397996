"""Retrieval metrics per query, and the statistics that compare two variants over the
same queries (a paired bootstrap interval and a sign test). Binary relevance."""

from __future__ import annotations

import math

import numpy as np

METRICS = ("ndcg@10", "mrr@10", "recall@100")
RECALL_CUTOFF = 100
MIN_HELD_OUT = 100  # fewer held-out queries than this: the intervals are wide
CORPUS_PER_CUTOFF = 10  # a corpus under this many times Recall's cutoff makes recall near-trivial
MAIN_METRIC = "ndcg@10"


def per_query_metrics(ranked: np.ndarray, relevant: list) -> dict[str, np.ndarray]:
    """``ranked``: (queries, >= 100) passage rows best first (-1 = none); ``relevant``: a
    collection of passage rows per query. Returns {metric: (queries,) float64}."""
    n = len(relevant)
    out = {k: np.zeros(n) for k in METRICS}
    discounts = 1.0 / np.log2(np.arange(2, 12))
    for i, rel in enumerate(relevant):
        rel = set(int(r) for r in rel)
        if not rel:
            continue
        hits = np.fromiter((int(p) in rel for p in ranked[i, :100]), dtype=bool, count=min(100, ranked.shape[1]))
        top = hits[:10]
        ideal = discounts[: min(len(rel), 10)].sum()
        out["ndcg@10"][i] = float(discounts[: len(top)][top].sum() / ideal)
        first = np.flatnonzero(top)
        out["mrr@10"][i] = 1.0 / (first[0] + 1) if len(first) else 0.0
        out["recall@100"][i] = hits.sum() / len(rel)
    return out


def bootstrap_interval(values: np.ndarray, samples: int, seed: int) -> tuple[float, float]:
    """95% percentile interval of the mean of ``values`` over query resamples."""
    if len(values) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = np.empty(samples)
    for s in range(0, samples, 256):
        k = min(256, samples - s)
        means[s : s + k] = values[rng.integers(0, len(values), size=(k, len(values)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


def sign_test(diff: np.ndarray) -> dict:
    """Two-sided exact sign test of per-query differences (ties left out)."""
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    n = wins + losses
    if n == 0:
        return {"wins": 0, "losses": 0, "ties": int(len(diff)), "p": 1.0}
    k = min(wins, losses)
    # P(X <= k) for X ~ Binomial(n, 1/2), in log space for large n
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return {"wins": wins, "losses": losses, "ties": int(len(diff) - n), "p": min(1.0, 2 * tail)}


def compare(a: np.ndarray, b: np.ndarray, samples: int, seed: int) -> dict:
    """``a`` minus ``b`` over the same queries: the mean difference, its paired bootstrap
    95% interval and the sign test."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    lo, hi = bootstrap_interval(diff, samples, seed)
    return {"mean": float(diff.mean()) if len(diff) else math.nan, "ci95": [lo, hi], "sign_test": sign_test(diff)}


def small_sample_warnings(held_out: int, corpus: int) -> list[str]:
    """What makes an evaluation's numbers weak, in words (empty when nothing does)."""
    out = []
    if held_out < MIN_HELD_OUT:
        out.append(f"intervals are wide: {held_out} held-out queries (fewer than {MIN_HELD_OUT})")
    if corpus < CORPUS_PER_CUTOFF * RECALL_CUTOFF:
        out.append(
            f"recall@{RECALL_CUTOFF} is near-trivial: the corpus has {corpus} passages "
            f"(fewer than {CORPUS_PER_CUTOFF}x the cutoff)"
        )
    return out
