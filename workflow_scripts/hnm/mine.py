"""Mine stage: pick negatives from the cached candidate table and write the output.

Everything here works on cached ``candidates.parquet`` / ``positive_scores.parquet``,
so changing a mining option never re-embeds or re-searches.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .io import atomic_path, write_json
from .prepare import passage_text

# Removal reasons, in the order the rules are applied. Every candidate considered is
# either kept or removed by exactly one of these, so kept + removed == considered.
REASONS = (
    "outside_window",
    "positive_id",
    "positive_text",
    "query_text",
    "absolute_margin",
    "relative_margin",
    "max_score",
    "min_score",
    "not_sampled",
)


@dataclass(frozen=True)
class MiningOptions:
    range_min: int = 2
    range_max: int = 100
    num_negatives: int = 16
    sampling_strategy: str = "random"  # "random" | "top"
    seed: int = 42
    rank_window: str = "raw"  # "raw" (seed) | "filtered" (sentence-transformers)
    exclude_query_text: bool = False
    group_identical_queries: bool = False
    absolute_margin: float | None = None
    relative_margin: float | None = None
    max_score: float | None = None
    min_score: float | None = None
    min_negatives: int = 1
    output_format: str = "tevatron"
    output_scores: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> MiningOptions:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def query_rng(seed: int, query_id: str) -> random.Random:
    """A sampler seeded from (seed, query_id) only: independent of order and threads."""
    h = hashlib.sha256(f"{seed}\x00{query_id}".encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def select_negatives(
    query_id: str,
    query_text: str,
    cand_ids: list[int],
    cand_scores: list[float],
    cand_texts: list[str],
    positive_ids: set[int],
    positive_texts: set[str],
    positive_score: float | None,
    opts: MiningOptions,
    removed: Counter,
) -> list[int]:
    """Return the positions (into the ranked candidate list) of the chosen negatives.

    ``cand_*`` are the retrieved candidates in rank order. ``positive_score`` is the
    lowest score among the query's positives (as sentence-transformers uses for margins).
    ``removed`` is incremented per reason; kept + sum(removed) == len(cand_ids).
    """
    abs_thr = rel_thr = None
    if positive_score is not None:
        if opts.absolute_margin is not None:
            abs_thr = positive_score - opts.absolute_margin
        if opts.relative_margin is not None:
            rel_thr = positive_score - abs(positive_score) * opts.relative_margin

    def rule(pos: int) -> str | None:
        pid, score, text = cand_ids[pos], cand_scores[pos], cand_texts[pos]
        if pid in positive_ids:
            return "positive_id"
        if text in positive_texts:
            return "positive_text"
        if opts.exclude_query_text and text == query_text:
            return "query_text"
        if abs_thr is not None and score > abs_thr:
            return "absolute_margin"
        if rel_thr is not None and score > rel_thr:
            return "relative_margin"
        if opts.max_score is not None and score > opts.max_score:
            return "max_score"
        if opts.min_score is not None and score < opts.min_score:
            return "min_score"
        return None

    pool: list[int] = []
    survivors = 0
    for pos in range(len(cand_ids)):
        if opts.rank_window == "raw" and not (opts.range_min <= pos < opts.range_max):
            removed["outside_window"] += 1
            continue
        why = rule(pos)
        if why:
            removed[why] += 1
            continue
        if opts.rank_window == "filtered":
            # sentence-transformers: skip the first range_min survivors, stop at range_max
            survivors += 1
            if not (opts.range_min < survivors <= opts.range_max):
                removed["outside_window"] += 1
                continue
        pool.append(pos)

    n = opts.num_negatives
    if len(pool) <= n:
        chosen = pool
    elif opts.sampling_strategy == "top":
        chosen = pool[:n]
    else:
        chosen = query_rng(opts.seed, query_id).sample(pool, n)
    removed["not_sampled"] += len(pool) - len(chosen)
    return chosen


def _passage_dict(docid, title, text, score=None, rank=None, with_scores=False) -> dict:
    d = {"docid": docid, "title": title, "text": text}
    if with_scores:
        d["score"] = None if score is None else round(float(score), 6)
        if rank is not None:
            d["rank"] = int(rank)
    return d


class Passages:
    """Random access to the passages table by row index."""

    def __init__(self, path):
        t = pq.read_table(path)
        self.docid = t.column("docid")
        self.title = t.column("title")
        self.text = t.column("text")

    def take(self, idx) -> tuple[list[str], list[str], list[str]]:
        idx = pa.array(np.asarray(idx, dtype=np.int64))
        return (
            self.docid.take(idx).to_pylist(),
            self.title.take(idx).to_pylist(),
            self.text.take(idx).to_pylist(),
        )


def _quantiles(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    a = np.asarray(values, dtype=np.float64)
    probs = (0.05, 0.25, 0.5, 0.75, 0.95)
    return {
        "count": int(a.size),
        "mean": round(float(a.mean()), 6),
        **{f"p{round(p * 100):02d}": round(float(v), 6) for p, v in zip(probs, np.quantile(a, probs), strict=True)},
    }


class OutputWriter:
    """Writes one record per query in the chosen format, atomically."""

    def __init__(self, path, fmt: str, num_negatives: int, with_scores: bool):
        self.fmt, self.n, self.with_scores = fmt, num_negatives, with_scores
        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self.rows = 0
        if fmt == "sentence-transformers":
            self._cols: dict[str, list] = {}
        else:
            self._fh = open(self._tmp, "w", encoding="utf-8")

    def add(self, qid: str, query: str, positives: list[dict], negatives: list[dict]) -> None:
        if self.fmt == "tevatron":
            rec = {"query_id": qid, "query": query, "positive_passages": positives, "negative_passages": negatives}
        elif self.fmt == "flagembedding":
            rec = {
                "query": query,
                "pos": [passage_text(p["title"], p["text"]) for p in positives],
                "neg": [passage_text(p["title"], p["text"]) for p in negatives],
            }
            if self.with_scores:
                rec["pos_scores"] = [p["score"] for p in positives]
                rec["neg_scores"] = [p["score"] for p in negatives]
        else:
            self._add_tuple(query, positives, negatives)
            return
        self._fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.rows += 1

    def _add_tuple(self, query, positives, negatives) -> None:
        # sentence-transformers n-tuple: one row per positive, num_negatives columns (the
        # Miner only passes queries with a full set of negatives in this format).
        negs = [passage_text(p["title"], p["text"]) for p in negatives]
        for p in positives:
            row = {"anchor": query, "positive": passage_text(p["title"], p["text"])}
            for i, t in enumerate(negs, start=1):
                row[f"negative_{i}"] = t
            if self.with_scores:
                row["scores"] = [p["score"]] + [n["score"] for n in negatives]
            for k, v in row.items():
                self._cols.setdefault(k, []).append(v)
            self.rows += 1

    def abort(self, exc) -> None:
        if self.fmt != "sentence-transformers":
            self._fh.close()
        self._ctx.__exit__(type(exc), exc, None)

    def close(self) -> None:
        if self.fmt == "sentence-transformers":
            names = ["anchor", "positive"] + [f"negative_{i}" for i in range(1, self.n + 1)]
            schema_fields = [(c, pa.string()) for c in names]
            if self.with_scores:
                schema_fields.append(("scores", pa.list_(pa.float64())))
            schema = pa.schema(schema_fields)
            cols = [self._cols.get(name, []) for name in schema.names]
            pq.write_table(pa.table(cols, schema=schema), self._tmp)
        else:
            self._fh.close()
        self._ctx.__exit__(None, None, None)


class Miner:
    """Holds one dataset's tables and counters while its queries are mined in order."""

    def __init__(self, queries_path, passages_path, positive_scores_path, opts: MiningOptions):
        self.opts = opts
        queries = pq.read_table(queries_path)
        self.qids = queries.column("query_id").to_pylist()
        self.qtexts = queries.column("text").to_pylist()
        self.passages = Passages(passages_path)
        # positive_scores.parquet has one row per qrels row, in the same order.
        ps = pq.read_table(positive_scores_path)
        self.positives: list[list[int]] = [[] for _ in self.qids]
        self.pos_scores: list[list[float]] = [[] for _ in self.qids]
        for q, p, sc in zip(
            ps.column("query_idx").to_pylist(),
            ps.column("passage_idx").to_pylist(),
            ps.column("score").to_pylist(),
            strict=True,
        ):
            self.positives[q].append(p)
            self.pos_scores[q].append(sc)
        # Margins compare against the query's lowest positive score, as sentence-transformers
        # does. With group_identical_queries, positives (and so that minimum) are pooled over
        # all rows with the same query text, as sentence-transformers groups them too.
        self.excluded = self.positives
        self.margin_score = [min(s) if s else None for s in self.pos_scores]
        if opts.group_identical_queries:
            by_text: dict[str, list[int]] = {}
            low: dict[str, float] = {}
            for q, t in enumerate(self.qtexts):
                acc = by_text.setdefault(t, [])
                acc.extend(p for p in self.positives[q] if p not in acc)
                if self.pos_scores[q]:
                    low[t] = min(low.get(t, np.inf), *self.pos_scores[q])
            self.excluded = [
                own + [p for p in by_text[t] if p not in own]
                for own, t in zip(self.positives, self.qtexts, strict=True)
            ]
            self.margin_score = [low.get(t) for t in self.qtexts]
        # The sentence-transformers n-tuple has fixed negative_1..n columns, so (as in its
        # own n-tuple output) only queries with a full set of negatives are written.
        self.min_negatives = opts.num_negatives if opts.output_format == "sentence-transformers" else opts.min_negatives
        self.removed: Counter = Counter()
        self.counts: Counter = Counter()
        self.hist: Counter = Counter()
        self.neg_scores: list[float] = []

    def emit(self, writer: OutputWriter, q: int, ids, scores, ranks, docids, titles, texts) -> None:
        """Select and write the negatives of query ``q`` from its ranked candidates."""
        opts = self.opts
        excl = self.excluded[q]
        pdoc, ptitle, ptext = self.passages.take(excl)
        pos_texts = {passage_text(a, b) for a, b in zip(ptitle, ptext, strict=True)}
        own_scores = self.pos_scores[q]
        cand_texts = [passage_text(a, b) for a, b in zip(titles, texts, strict=True)]
        chosen = select_negatives(
            self.qids[q],
            self.qtexts[q],
            ids,
            scores,
            cand_texts,
            set(excl),
            pos_texts,
            self.margin_score[q],
            opts,
            self.removed,
        )
        self.counts["candidates_considered"] += len(ids)
        self.counts["negatives_kept"] += len(chosen)
        self.hist[len(chosen)] += 1
        if len(chosen) < opts.num_negatives:
            self.counts["queries_short"] += 1
        if not chosen:
            self.counts["queries_without_negatives"] += 1
        if len(chosen) < self.min_negatives:
            self.counts["queries_dropped"] += 1
            return
        self.counts["queries_written"] += 1
        self.counts["negatives_written"] += len(chosen)
        positives = [
            _passage_dict(pdoc[i], ptitle[i], ptext[i], own_scores[i], None, opts.output_scores)
            for i in range(len(self.positives[q]))
        ]
        negatives = []
        for c in chosen:
            self.neg_scores.append(scores[c])
            negatives.append(_passage_dict(docids[c], titles[c], texts[c], scores[c], ranks[c], opts.output_scores))
        writer.add(self.qids[q], self.qtexts[q], positives, negatives)

    def run(self, candidates_path, writer: OutputWriter) -> None:
        """Stream the candidate table (one row group holds whole queries) in query order."""
        pf = pq.ParquetFile(candidates_path)
        next_q = 0
        for rg in range(pf.num_row_groups):
            t = pf.read_row_group(rg)
            qi = t.column("query_idx").to_numpy()
            if len(qi) == 0:
                continue
            pi = t.column("passage_idx").to_numpy()
            sc = t.column("score").to_numpy().astype(np.float64).tolist()
            rk = t.column("rank").to_numpy().tolist()
            docids, titles, texts = self.passages.take(pi)
            pil = pi.tolist()
            cuts = np.flatnonzero(np.diff(qi)) + 1
            for s, e in zip([0, *cuts.tolist()], [*cuts.tolist(), len(qi)], strict=True):
                q = int(qi[s])
                for empty in range(next_q, q):  # a query with no candidate at all
                    self.emit(writer, empty, [], [], [], [], [], [])
                self.emit(writer, q, pil[s:e], sc[s:e], rk[s:e], docids[s:e], titles[s:e], texts[s:e])
                next_q = q + 1
        for empty in range(next_q, len(self.qids)):
            self.emit(writer, empty, [], [], [], [], [], [])

    def stats(self, dataset: str, output_rows: int) -> dict:
        c = self.counts
        all_pos = [s for row in self.pos_scores for s in row]
        return {
            "dataset": dataset,
            "options": {f.name: getattr(self.opts, f.name) for f in fields(self.opts)},
            "queries": len(self.qids),
            "queries_written": c["queries_written"],
            "output_rows": output_rows,
            "queries_short": c["queries_short"],
            "queries_without_negatives": c["queries_without_negatives"],
            "queries_dropped_below_min_negatives": c["queries_dropped"],
            "min_negatives_applied": self.min_negatives,
            "negatives_per_query": {str(k): v for k, v in sorted(self.hist.items())},
            "candidates_considered": c["candidates_considered"],
            "negatives_kept": c["negatives_kept"],
            "negatives_written": c["negatives_written"],
            "removed": {r: self.removed[r] for r in REASONS},
            "positive_scores": _quantiles(all_pos),
            "negative_scores": _quantiles(self.neg_scores),
        }


def mine_dataset(
    queries_path,
    passages_path,
    candidates_path,
    positive_scores_path,
    out_path,
    stats_path,
    opts: MiningOptions,
    dataset: str = "",
    logger=None,
) -> dict:
    """Select negatives for every query; write ``out_path`` and ``stats_path`` atomically."""
    miner = Miner(queries_path, passages_path, positive_scores_path, opts)
    writer = OutputWriter(out_path, opts.output_format, opts.num_negatives, opts.output_scores)
    try:
        miner.run(candidates_path, writer)
    except BaseException as exc:
        writer.abort(exc)
        raise
    writer.close()
    stats = miner.stats(dataset, writer.rows)
    if stats["negatives_kept"] + sum(stats["removed"].values()) != stats["candidates_considered"]:
        raise RuntimeError("candidate accounting is off: kept + removed != considered")
    write_json(stats_path, stats)
    if logger:
        removed = {k: v for k, v in stats["removed"].items() if v}
        logger.info(
            "%s: %d/%d queries written; %d short of %d negatives, %d with none, %d dropped (min_negatives=%d); "
            "removed %s",
            dataset,
            stats["queries_written"],
            stats["queries"],
            stats["queries_short"],
            opts.num_negatives,
            stats["queries_without_negatives"],
            stats["queries_dropped_below_min_negatives"],
            miner.min_negatives,
            removed,
        )
    return stats
