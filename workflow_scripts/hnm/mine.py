"""Mine stage: pick negatives from the cached candidate table and write the output.

Everything here works on cached ``candidates.parquet`` / ``positive_scores.parquet``,
so changing a mining option never re-embeds or re-searches.

Selection runs as array operations over whole row groups of candidates (one row group
holds every candidate of a run of queries, see ``search.merge_shards``):

- texts are compared through 128-bit hashes (two independent 64-bit SipHash keys), so
  no candidate text is ever materialized to decide anything;
- exclusion is by membership in sorted key arrays: ``(group, passage)`` for positive
  ids and ``(group, text)`` for positive texts, where a group is one query row, or
  (``group_identical_queries``) every row with the same query text. That is linear in
  the number of rows however often a query text repeats;
- random sampling gives each (query, candidate) a 64-bit key derived from
  ``(seed, query_id, passage)`` and keeps the ``num_negatives`` smallest: a uniform
  sample, independent of order, threads and shard count.

Memory: the candidate row group being processed, about 40 bytes per passage and per
query (hashes, group ids), the qrels, and the texts of the passages actually written,
which are read from a memory-mapped Arrow copy of the tables.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, fields
from json.encoder import encode_basestring as _jstr
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .io import Progress, atomic_path, text_hashes, write_json
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
_CODE = {r: i + 1 for i, r in enumerate(REASONS)}  # 0 = kept
SCORE_BINS = 1000  # histogram resolution of the score distributions in mine_stats.json


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


# ----------------------------------------------------------------------------- hashing


def query_seeds(seed: int, query_ids) -> np.ndarray:
    """uint64 per query: the sampling stream of (seed, query_id), nothing else."""
    from pandas.util import hash_array

    key = hashlib.sha256(f"hardneg-seed\x00{seed}".encode()).hexdigest()[:16]
    return hash_array(np.asarray(query_ids, dtype=object), hash_key=key, categorize=False)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijective, well-mixed uint64 -> uint64."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def sample_keys(seeds: np.ndarray, passage_idx: np.ndarray) -> np.ndarray:
    """Random key of each (query, candidate): a function of the query's seed and the
    passage index only, so a candidate's chance never depends on its neighbours."""
    with np.errstate(over="ignore"):
        return _mix64(seeds.astype(np.uint64) ^ _mix64(passage_idx.astype(np.uint64) + np.uint64(1)))


def _rows_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[:, 0] == b[:, 0]) & (a[:, 1] == b[:, 1])


def _in_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Membership of ``keys`` in a sorted unique int64 array."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def _group_starts(cq: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the first row of each group in a sorted group array (len n_groups + 1)."""
    return np.searchsorted(cq, np.arange(n_groups + 1))


def positions_in_groups(cq: np.ndarray, n_groups: int) -> np.ndarray:
    """0-based position of each row within its group (a candidate's rank in its query)."""
    return np.arange(len(cq)) - _group_starts(cq, n_groups)[cq]


# --------------------------------------------------------------------------- selection


def select_candidates(
    cq: np.ndarray,
    pos: np.ndarray,
    n_queries: int,
    scores: np.ndarray,
    excl_id: np.ndarray,
    excl_text: np.ndarray,
    is_query_text: np.ndarray,
    margin: np.ndarray,
    keys: np.ndarray,
    opts: MiningOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Choose negatives for a run of queries at once.

    Every argument but ``n_queries`` and ``opts`` has one entry per candidate, sorted
    by local query number ``cq`` (0..n_queries-1) and rank within the query; ``pos`` is
    that rank (:func:`positions_in_groups`). ``margin``
    is the query's positive score for the margins (NaN: none). Returns ``chosen``
    (candidate indices, grouped by query, in output order) and ``reason`` (int8 code
    per candidate: 0 kept, else 1 + index into REASONS).
    """
    n = len(cq)
    reason = np.zeros(n, dtype=np.int8)

    def remove(mask, why: str) -> None:
        reason[(reason == 0) & mask] = _CODE[why]

    if opts.rank_window == "raw":
        reason[(pos < opts.range_min) | (pos >= opts.range_max)] = _CODE["outside_window"]
    remove(excl_id, "positive_id")
    remove(excl_text, "positive_text")
    if opts.exclude_query_text:
        remove(is_query_text, "query_text")
    has_margin = ~np.isnan(margin)
    s = scores.astype(np.float64)
    if opts.absolute_margin is not None:
        remove(has_margin & (s > margin - opts.absolute_margin), "absolute_margin")
    if opts.relative_margin is not None:
        remove(has_margin & (s > margin - np.abs(margin) * opts.relative_margin), "relative_margin")
    if opts.max_score is not None:
        remove(s > opts.max_score, "max_score")
    if opts.min_score is not None:
        remove(s < opts.min_score, "min_score")
    if opts.rank_window == "filtered":
        # sentence-transformers: skip the first range_min survivors, stop at range_max
        surv = reason == 0
        csum = np.cumsum(surv)
        k = csum - np.r_[0, csum][np.arange(n) - pos]  # 1-based survivor count within the query
        reason[surv & ~((k > opts.range_min) & (k <= opts.range_max))] = _CODE["outside_window"]

    pool = np.flatnonzero(reason == 0)
    size = np.bincount(cq[pool], minlength=n_queries)
    if opts.sampling_strategy == "random":
        # over-full pools: the num_negatives smallest random keys, in key order;
        # others keep every candidate in rank order (no padding)
        order_key = np.where(size[cq[pool]] > opts.num_negatives, keys[pool], pos[pool].astype(np.uint64))
    else:
        order_key = pos[pool].astype(np.uint64)
    pool = pool[np.lexsort((order_key, cq[pool]))]
    pstarts = _group_starts(cq[pool], n_queries)
    within = np.arange(len(pool)) - pstarts[cq[pool]]
    reason[pool[within >= opts.num_negatives]] = _CODE["not_sampled"]
    return pool[within < opts.num_negatives], reason


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
    """One query through :func:`select_candidates`: the positions (into the ranked
    candidate list) of the chosen negatives. ``removed`` is incremented per reason."""
    m = len(cand_ids)
    ids = np.asarray(cand_ids, dtype=np.int64)
    chosen, reason = select_candidates(
        np.zeros(m, dtype=np.int64),
        np.arange(m),
        1,
        np.asarray(cand_scores, dtype=np.float64),
        np.isin(ids, list(positive_ids)),
        np.asarray([t in positive_texts for t in cand_texts], dtype=bool),
        np.asarray([t == query_text for t in cand_texts], dtype=bool),
        np.full(m, np.nan if positive_score is None else positive_score),
        sample_keys(np.full(m, query_seeds(opts.seed, [query_id])[0]), ids),
        opts,
    )
    for code, count in enumerate(np.bincount(reason, minlength=len(REASONS) + 1)[1:], start=1):
        if count:
            removed[REASONS[code - 1]] += int(count)
    return chosen.tolist()


# ------------------------------------------------------------------------ text stores


def _joined_text(batch: pa.RecordBatch) -> pa.Array:
    """passage_text over a batch of passages, in Arrow."""
    title, text = batch.column("title"), batch.column("text")
    joined = pc.binary_join_element_wise(title, text, " ")
    return pc.if_else(pc.equal(title, ""), text, joined)


class TextStore:
    """A parquet table copied once into an uncompressed, memory-mapped Arrow file in
    fixed-size record batches, for random row access that reads only the rows asked for.
    ``hash_of(batch)`` gives the text whose 128-bit hash is kept per row."""

    def __init__(self, parquet_path, tmpdir, columns: list[str], hash_of, batch_rows: int = 32768, extra=None):
        self.batch_rows = batch_rows
        path = Path(tmpdir) / (Path(parquet_path).stem + ".arrow")
        pf = pq.ParquetFile(parquet_path)
        self.num_rows = pf.metadata.num_rows
        schema = pf.schema_arrow
        self.hashes = np.empty((self.num_rows, 2), dtype=np.uint64)
        self.extra = np.empty(self.num_rows, dtype=np.uint64) if extra else None
        done = 0
        with (
            pa.OSFile(str(path), "wb") as sink,
            pa.ipc.new_file(sink, pa.schema([schema.field(c) for c in columns])) as w,
        ):
            for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
                n = batch.num_rows
                self.hashes[done : done + n] = text_hashes(hash_of(batch).to_numpy(zero_copy_only=False))
                if extra:
                    self.extra[done : done + n] = extra(batch)
                w.write_batch(batch)
                done += n
        self._reader = pa.ipc.open_file(pa.memory_map(str(path)))
        self.columns = columns

    def _batch(self, b: int) -> pa.RecordBatch:
        return self._reader.get_batch(b)

    def take(self, idx: np.ndarray) -> dict[str, list]:
        """Columns of rows ``idx`` (any order, repeats allowed) as Python lists."""
        idx = np.asarray(idx, dtype=np.int64)
        out = {c: [None] * len(idx) for c in self.columns}
        if len(idx) == 0:
            return out
        b = idx // self.batch_rows
        order = np.argsort(b, kind="stable")
        bounds = np.flatnonzero(np.diff(b[order])) + 1
        for part in np.split(order, bounds):
            batch = self._batch(int(b[part[0]])).take(pa.array(idx[part] % self.batch_rows))
            for c in self.columns:
                vals = batch.column(c).to_pylist()
                col = out[c]
                for i, v in zip(part.tolist(), vals, strict=True):
                    col[i] = v
        return out

    def slice(self, start: int, stop: int) -> dict[str, list]:
        """Columns of the contiguous rows [start, stop) as Python lists."""
        out: dict[str, list] = {c: [] for c in self.columns}
        if stop <= start:
            return out
        for b in range(start // self.batch_rows, (stop - 1) // self.batch_rows + 1):
            batch = self._batch(b)
            lo = max(start - b * self.batch_rows, 0)
            hi = min(stop - b * self.batch_rows, batch.num_rows)
            part = batch.slice(lo, hi - lo)
            for c in self.columns:
                out[c].extend(part.column(c).to_pylist())
        return out


class Passages:
    """Random access to the whole passages table by row index (used by ``rescore``)."""

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


# ------------------------------------------------------------------------------ stats


def _quantiles(values: np.ndarray) -> dict:
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


def _score_range(candidates_path, pos_scores: np.ndarray) -> tuple[float, float]:
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


# ----------------------------------------------------------------------------- output


def _score_json(score: float) -> str:
    return json.dumps(round(float(score), 6))


class OutputWriter:
    """Streams one record per query in the chosen format, atomically.

    Records are assembled from per-passage JSON fragments, each escaped once per row
    group; the bytes are exactly those of ``json.dumps(record, ensure_ascii=False)``.
    """

    def __init__(self, path, fmt: str, num_negatives: int, with_scores: bool):
        self.fmt, self.n, self.with_scores = fmt, num_negatives, with_scores
        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self.rows = 0
        if fmt == "sentence-transformers":
            names = ["anchor", "positive"] + [f"negative_{i}" for i in range(1, num_negatives + 1)]
            schema_fields = [(c, pa.string()) for c in names]
            if with_scores:
                schema_fields.append(("scores", pa.list_(pa.float64())))
            self._schema = pa.schema(schema_fields)
            self._pq = pq.ParquetWriter(self._tmp, self._schema)
            self._cols: dict[str, list] = {c: [] for c in self._schema.names}
        else:
            self._fh = open(self._tmp, "w", encoding="utf-8")

    def fragments(self, docids: list, titles: list, texts: list) -> list[str]:
        """Per passage, what every record that mentions it shares (escaped once)."""
        if self.fmt == "tevatron":
            return [
                f'{{"docid": {_jstr(d)}, "title": {_jstr(a)}, "text": {_jstr(b)}'
                for d, a, b in zip(docids, titles, texts, strict=True)
            ]
        if self.fmt == "flagembedding":
            return [_jstr(passage_text(a, b)) for a, b in zip(titles, texts, strict=True)]
        return [passage_text(a, b) for a, b in zip(titles, texts, strict=True)]

    def add(self, qid: str, query: str, pos: list[str], pos_scores, negs: list[str], neg_scores, neg_ranks) -> None:
        """One query: its positives' and negatives' fragments, scores (and ranks)."""
        if self.fmt == "tevatron":
            if self.with_scores:
                p = [f'{f}, "score": {_score_json(s)}}}' for f, s in zip(pos, pos_scores, strict=True)]
                n = [
                    f'{f}, "score": {_score_json(s)}, "rank": {int(r)}}}'
                    for f, s, r in zip(negs, neg_scores, neg_ranks, strict=True)
                ]
            else:
                p, n = [f + "}" for f in pos], [f + "}" for f in negs]
            self._fh.write(
                f'{{"query_id": {_jstr(qid)}, "query": {_jstr(query)}, '
                f'"positive_passages": [{", ".join(p)}], "negative_passages": [{", ".join(n)}]}}\n'
            )
        elif self.fmt == "flagembedding":
            line = f'{{"query": {_jstr(query)}, "pos": [{", ".join(pos)}], "neg": [{", ".join(negs)}]'
            if self.with_scores:
                line += (
                    f', "pos_scores": [{", ".join(map(_score_json, pos_scores))}], '
                    f'"neg_scores": [{", ".join(map(_score_json, neg_scores))}]'
                )
            self._fh.write(line + "}\n")
        else:
            # sentence-transformers n-tuple: one row per positive, num_negatives columns
            # (the Miner only passes queries with a full set of negatives in this format)
            for text, score in zip(pos, pos_scores, strict=True):
                row = {"anchor": query, "positive": text}
                for i, t in enumerate(negs, start=1):
                    row[f"negative_{i}"] = t
                if self.with_scores:
                    row["scores"] = [round(float(score), 6)] + [round(float(s), 6) for s in neg_scores]
                for k, v in row.items():
                    self._cols[k].append(v)
                self.rows += 1
            return
        self.rows += 1

    def flush(self) -> None:
        if self.fmt == "sentence-transformers" and self._cols["anchor"]:
            self._pq.write_table(pa.table([self._cols[c] for c in self._schema.names], schema=self._schema))
            self._cols = {c: [] for c in self._schema.names}

    def abort(self, exc) -> None:
        if self.fmt == "sentence-transformers":
            self._pq.close()
        else:
            self._fh.close()
        self._ctx.__exit__(type(exc), exc, None)

    def close(self) -> None:
        if self.fmt == "sentence-transformers":
            self.flush()
            self._pq.close()
        else:
            self._fh.close()
        self._ctx.__exit__(None, None, None)


# ------------------------------------------------------------------------------ miner


class Miner:
    """One dataset: hashes, groups and positives in arrays; candidates streamed."""

    def __init__(self, queries_path, passages_path, positive_scores_path, opts: MiningOptions, tmpdir, logger=None):
        self.opts = opts
        self.logger = logger
        self.queries = TextStore(
            queries_path,
            tmpdir,
            ["query_id", "text"],
            lambda b: b.column("text"),
            extra=lambda b: query_seeds(opts.seed, b.column("query_id").to_numpy(zero_copy_only=False)),
        )
        self.passages = TextStore(passages_path, tmpdir, ["docid", "title", "text"], _joined_text)
        self.n_queries, self.n_passages = self.queries.num_rows, self.passages.num_rows
        # a text id per passage: the same id for the same embedded text
        _, tid = np.unique(self.passages.hashes.view([("a", np.uint64), ("b", np.uint64)]).ravel(), return_inverse=True)
        self.text_id = tid.astype(np.int64).ravel()
        n_texts = int(self.text_id.max()) + 1 if len(self.text_id) else 1

        # positive_scores.parquet has one row per qrels row, grouped by query in order
        ps = pq.read_table(positive_scores_path)
        self.pos_q = ps.column("query_idx").to_numpy().astype(np.int64)
        self.pos_p = ps.column("passage_idx").to_numpy().astype(np.int64)
        self.pos_s = ps.column("score").to_numpy().astype(np.float64)
        if len(self.pos_q) and np.any(np.diff(self.pos_q) < 0):
            order = np.argsort(self.pos_q, kind="stable")
            self.pos_q, self.pos_p, self.pos_s = self.pos_q[order], self.pos_p[order], self.pos_s[order]
        self.pos_starts = _group_starts(self.pos_q, self.n_queries)

        # Groups: one per row, or (group_identical_queries) one per distinct query text.
        # Exclusions and the margins' positive score are pooled over the group, as
        # sentence-transformers groups identical anchors.
        if opts.group_identical_queries:
            _, g = np.unique(
                self.queries.hashes.view([("a", np.uint64), ("b", np.uint64)]).ravel(), return_inverse=True
            )
            self.group = g.astype(np.int64).ravel()
        else:
            self.group = np.arange(self.n_queries, dtype=np.int64)
        n_groups = int(self.group.max()) + 1 if self.n_queries else 1
        gp = self.group[self.pos_q]
        self.excl_id_keys = np.unique(gp * max(self.n_passages, 1) + self.pos_p)
        self.excl_text_keys = np.unique(gp * n_texts + self.text_id[self.pos_p])
        self.n_texts = n_texts
        low = np.full(n_groups, np.inf)
        np.minimum.at(low, gp, self.pos_s)
        self.margin = np.where(np.isfinite(low), low, np.nan)[self.group]

        # The sentence-transformers n-tuple has fixed negative_1..n columns, so (as in its
        # own n-tuple output) only queries with a full set of negatives are written.
        self.min_negatives = opts.num_negatives if opts.output_format == "sentence-transformers" else opts.min_negatives
        self.removed = np.zeros(len(REASONS) + 1, dtype=np.int64)
        self.counts: Counter = Counter()
        self.hist: Counter = Counter()
        self.neg_ranks = np.zeros(0, dtype=np.int64)
        self.score_hist: dict[str, Histogram] = {}

    def _init_hists(self, candidates_path) -> None:
        lo, hi = _score_range(candidates_path, self.pos_s)
        self.score_hist = {k: Histogram(lo, hi) for k in ("positives", "negatives", "candidates")}
        self.score_hist["positives"].add(self.pos_s)

    def process(self, writer: OutputWriter, q0: int, q1: int, qi, pi, scores) -> None:
        """Queries [q0, q1) with their candidates (sorted by query, then rank)."""
        opts = self.opts
        nq = q1 - q0
        cq = qi - q0
        g = self.group[qi]
        excl_id = _in_sorted(self.excl_id_keys, g * max(self.n_passages, 1) + pi)
        excl_text = _in_sorted(self.excl_text_keys, g * self.n_texts + self.text_id[pi])
        is_qtext = _rows_equal(self.queries.hashes[qi], self.passages.hashes[pi])
        keys = sample_keys(self.queries.extra[qi], pi)
        pos_in_query = positions_in_groups(cq, nq)
        chosen, reason = select_candidates(
            cq, pos_in_query, nq, scores, excl_id, excl_text, is_qtext, self.margin[qi], keys, opts
        )
        self.removed += np.bincount(reason, minlength=len(REASONS) + 1)
        n_chosen = np.bincount(cq[chosen], minlength=nq)
        self.counts["candidates_considered"] += len(cq)
        self.counts["negatives_kept"] += len(chosen)
        self.hist.update(n_chosen.tolist())
        self.counts["queries_short"] += int((n_chosen < opts.num_negatives).sum())
        self.counts["queries_without_negatives"] += int((n_chosen == 0).sum())
        written = n_chosen >= self.min_negatives
        self.counts["queries_dropped"] += int((~written).sum())
        self.score_hist["candidates"].add(scores)

        # keep only written queries' negatives, then fetch each needed passage once
        chosen = chosen[written[cq[chosen]]]
        self.score_hist["negatives"].add(scores[chosen])
        ranks = pos_in_query[chosen]
        self.neg_ranks = _add_counts(self.neg_ranks, ranks)
        wq = np.flatnonzero(written) + q0
        self.counts["queries_written"] += len(wq)
        self.counts["negatives_written"] += len(chosen)
        if len(wq) == 0:
            return
        n_pos = self.pos_starts[wq + 1] - self.pos_starts[wq]
        first = np.repeat(self.pos_starts[wq] - (np.cumsum(n_pos) - n_pos), n_pos)
        pos_rows = (first + np.arange(int(n_pos.sum()))).astype(np.int64)
        need, inverse = np.unique(np.concatenate([pi[chosen], self.pos_p[pos_rows]]), return_inverse=True)
        got = self.passages.take(need)
        frags = writer.fragments(got["docid"], got["title"], got["text"])
        neg_frag = inverse[: len(chosen)].tolist()
        pos_frag = inverse[len(chosen) :].tolist()
        qtab = self.queries.slice(q0, q1)
        neg_bounds = np.searchsorted(cq[chosen], np.r_[wq - q0, nq]).tolist()
        neg_scores, neg_ranks = scores[chosen].tolist(), ranks.tolist()
        pos_scores = self.pos_s[pos_rows].tolist()
        k = 0
        for j, q in enumerate(wq.tolist()):
            a, b = neg_bounds[j], neg_bounds[j + 1]
            npos = int(n_pos[j])
            local = q - q0
            writer.add(
                qtab["query_id"][local],
                qtab["text"][local],
                [frags[i] for i in pos_frag[k : k + npos]],
                pos_scores[k : k + npos],
                [frags[i] for i in neg_frag[a:b]],
                neg_scores[a:b],
                neg_ranks[a:b],
            )
            k += npos
        writer.flush()

    def run(self, candidates_path, writer: OutputWriter) -> None:
        """Stream the candidate table in query order, one row group at a time. The merge
        writes whole queries per row group; a query split across row groups is held back
        and completed from the next one."""
        self._init_hists(candidates_path)
        pf = pq.ParquetFile(candidates_path)
        progress = Progress(self.logger, "mine", total=self.n_queries, unit="queries")
        next_q = 0
        held = None
        cols = ["query_idx", "passage_idx", "score"]
        for rg in range(pf.num_row_groups + 1):
            if rg < pf.num_row_groups:
                t = pf.read_row_group(rg, columns=cols)
                part = [
                    t.column(0).to_numpy().astype(np.int64),
                    t.column(1).to_numpy().astype(np.int64),
                    t.column(2).to_numpy().astype(np.float64),
                ]
                if held is not None:
                    part = [np.concatenate([a, b]) for a, b in zip(held, part, strict=True)]
            elif held is not None:
                part = held
            else:
                break
            qi = part[0]
            if len(qi) == 0:
                held = None
                continue
            if np.any(np.diff(qi) < 0) or qi[0] < next_q:
                raise ValueError(f"{candidates_path}: row group {rg} is not in query order")
            last = len(qi)
            if rg < pf.num_row_groups:  # the last query may go on in the next row group
                last = int(np.searchsorted(qi, qi[-1]))
                held = [a[last:] for a in part]
            else:
                held = None
            if last == 0:
                continue
            q1 = int(qi[last - 1]) + 1
            self.process(writer, next_q, q1, qi[:last], part[1][:last], part[2][:last])
            next_q = q1
            progress.update(next_q)
        empty = np.zeros(0, dtype=np.int64)
        for q0 in range(next_q, self.n_queries, 65536):  # trailing queries with no candidate
            self.process(writer, q0, min(q0 + 65536, self.n_queries), empty, empty, empty.astype(np.float64))
        progress.update(self.n_queries)
        progress.finish()

    def stats(self, dataset: str, output_rows: int) -> dict:
        c = self.counts
        return {
            "dataset": dataset,
            "options": {f.name: getattr(self.opts, f.name) for f in fields(self.opts)},
            "queries": self.n_queries,
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
            "removed": {r: int(self.removed[i + 1]) for i, r in enumerate(REASONS)},
            "positive_scores": _quantiles(self.pos_s),
            "negative_scores": self.score_hist["negatives"].summary(),
            "negative_ranks": self.neg_ranks.tolist(),
            "score_histograms": {k: h.to_dict() for k, h in self.score_hist.items()},
        }


def _add_counts(acc: np.ndarray, values: np.ndarray) -> np.ndarray:
    counts = np.bincount(values, minlength=len(acc)) if len(values) else np.zeros(len(acc), dtype=np.int64)
    if len(counts) > len(acc):
        acc = np.r_[acc, np.zeros(len(counts) - len(acc), dtype=np.int64)]
    acc[: len(counts)] += counts
    return acc


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
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix=f".{out_path.name}.work-{os.getpid()}-", dir=out_path.parent)
    try:
        miner = Miner(queries_path, passages_path, positive_scores_path, opts, tmpdir, logger)
        writer = OutputWriter(out_path, opts.output_format, opts.num_negatives, opts.output_scores)
        try:
            miner.run(candidates_path, writer)
        except BaseException as exc:
            writer.abort(exc)
            raise
        writer.close()
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
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
