"""The numbers ``mine_stats.json`` holds: score histograms, quantiles and counts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow.parquet as pq

SCORE_BINS = 1000  # histogram resolution of the score distributions in mine_stats.json


def quantiles(values: np.ndarray) -> dict:
    if len(values) == 0:
        return {"count": 0}
    a = np.asarray(values, dtype=np.float64)
    probs = (0.05, 0.25, 0.5, 0.75, 0.95)
    return {
        "count": int(a.size),
        "mean": round(float(a.mean()), 6),
        **{f"p{round(p * 100):02d}": round(float(v), 6) for p, v in zip(probs, np.quantile(a, probs), strict=True)},
    }


class Histogram:
    """Fixed-bin score histogram; quantiles are interpolated within a bin."""

    def __init__(self, lo: float, hi: float, bins: int = SCORE_BINS):
        if not hi > lo:
            lo, hi = lo - 0.5, lo + 0.5
        self.lo, self.hi, self.bins = float(lo), float(hi), bins
        self.counts = np.zeros(bins, dtype=np.int64)
        self.total = 0.0

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if len(v):
            i = np.clip(((v - self.lo) / (self.hi - self.lo) * self.bins).astype(np.int64), 0, self.bins - 1)
            self.counts += np.bincount(i, minlength=self.bins)
            self.total += float(v.sum())

    def summary(self) -> dict:
        n = int(self.counts.sum())
        if n == 0:
            return {"count": 0}
        cum = np.cumsum(self.counts)
        out = {"count": n, "mean": round(self.total / n, 6)}
        width = (self.hi - self.lo) / self.bins
        for p in (0.05, 0.25, 0.5, 0.75, 0.95):
            target = p * n
            b = int(np.searchsorted(cum, target))
            below = cum[b - 1] if b else 0
            frac = (target - below) / max(self.counts[b], 1)
            out[f"p{round(p * 100):02d}"] = round(self.lo + (b + frac) * width, 6)
        return out

    def to_dict(self) -> dict:
        return {"lo": self.lo, "hi": self.hi, "counts": self.counts.tolist()}


def score_range(candidates_path, pos_scores: np.ndarray) -> tuple[float, float]:
    """Min and max of every score, from the positives and the parquet column statistics."""
    lo, hi = (float(pos_scores.min()), float(pos_scores.max())) if len(pos_scores) else (np.inf, -np.inf)
    pf = pq.ParquetFile(candidates_path)
    md = pf.metadata
    col = md.schema.to_arrow_schema().get_field_index("score")
    for rg in range(md.num_row_groups):
        st = md.row_group(rg).column(col).statistics
        if st is not None and st.has_min_max:
            lo, hi = min(lo, float(st.min)), max(hi, float(st.max))
        elif md.row_group(rg).num_rows:  # no statistics: read the column
            s = pf.read_row_group(rg, columns=["score"]).column(0).to_numpy()
            lo, hi = min(lo, float(s.min())), max(hi, float(s.max()))
    if not np.isfinite(lo):
        lo, hi = -1.0, 1.0
    return lo, hi


def add_counts(acc: np.ndarray, values: np.ndarray) -> np.ndarray:
    counts = np.bincount(values, minlength=len(acc)) if len(values) else np.zeros(len(acc), dtype=np.int64)
    if len(counts) > len(acc):
        acc = np.r_[acc, np.zeros(len(counts) - len(acc), dtype=np.int64)]
    acc[: len(counts)] += counts
    return acc


class MineStats:
    """What the mine step counts, accumulated one run of queries at a time."""

    def __init__(self, reasons: tuple[str, ...], candidates_path, pos_scores: np.ndarray):
        self.reasons = reasons
        self.pos_scores = pos_scores
        self.removed = np.zeros(len(reasons) + 1, dtype=np.int64)
        self.counts: Counter = Counter()
        self.per_query: Counter = Counter()  # negatives per query -> queries
        self.neg_ranks = np.zeros(0, dtype=np.int64)
        lo, hi = score_range(candidates_path, pos_scores)
        self.hist = {k: Histogram(lo, hi) for k in ("positives", "negatives", "candidates")}
        self.hist["positives"].add(pos_scores)

    def add_candidates(self, reason_counts: np.ndarray, scores: np.ndarray) -> None:
        """Every candidate considered: its removal reason (counts per code) and its score."""
        self.removed += reason_counts
        self.counts["candidates_considered"] += len(scores)
        self.hist["candidates"].add(scores)

    def add_chosen(self, n_chosen: np.ndarray, num_negatives: int, written: np.ndarray, given: np.ndarray) -> None:
        """Negatives chosen per query (and given by the data), and which queries have
        enough to be written."""
        self.counts["negatives_kept"] += int(n_chosen.sum())
        total = n_chosen + given
        if given.any():
            self.counts["given_negatives"] += int(given.sum())
        self.per_query.update(total.tolist())
        self.counts["queries_short"] += int((total < num_negatives).sum())
        self.counts["queries_without_negatives"] += int((total == 0).sum())
        self.counts["queries_dropped"] += int((~written).sum())
        self.counts["queries_written"] += int(written.sum())

    def add_judged(self, judged: np.ndarray, judgeable: np.ndarray) -> None:
        """The judge's verdicts on the candidates the false-negative rate is estimated over."""
        self.counts["judge_considered"] += int(judgeable.sum())
        self.counts["judged_relevant"] += int((judged & judgeable).sum())

    def add_written(self, scores: np.ndarray, ranks: np.ndarray) -> None:
        """The negatives of written queries."""
        self.hist["negatives"].add(scores)
        self.neg_ranks = add_counts(self.neg_ranks, ranks)
        self.counts["negatives_written"] += len(scores)

    def judge_summary(self) -> dict:
        """The estimated false-negative rate: the share of the window's non-positive
        first-stage candidates that the cross-encoder judges relevant."""
        c = self.counts
        return {
            "window_candidates": c["judge_considered"],
            "judged_relevant": c["judged_relevant"],
            "estimated_rate": round(c["judged_relevant"] / c["judge_considered"], 6) if c["judge_considered"] else 0.0,
            "positives_added": c["positives_added_by_judge"],
        }

    def to_dict(self, header: dict, output_rows: int, min_negatives: int) -> dict:
        c = self.counts
        return {
            **header,
            "queries_written": c["queries_written"],
            "output_rows": output_rows,
            "queries_short": c["queries_short"],
            "queries_without_negatives": c["queries_without_negatives"],
            "queries_dropped_below_min_negatives": c["queries_dropped"],
            "min_negatives_applied": min_negatives,
            "negatives_per_query": {str(k): v for k, v in sorted(self.per_query.items())},
            "candidates_considered": c["candidates_considered"],
            "negatives_kept": c["negatives_kept"],
            "negatives_written": c["negatives_written"],
            **({"given_negatives": c["given_negatives"]} if "given_negatives" in c else {}),
            "removed": {r: int(self.removed[i + 1]) for i, r in enumerate(self.reasons)},
            "positive_scores": quantiles(self.pos_scores),
            "negative_scores": self.hist["negatives"].summary(),
            "negative_ranks": self.neg_ranks.tolist(),
            "score_histograms": {k: h.to_dict() for k, h in self.hist.items()},
            **({"queries_held_out": c["queries_held_out"]} if "queries_held_out" in c else {}),
            **({"false_negatives": self.judge_summary()} if "judge_considered" in c else {}),
        }
