"""Merge stage: per-shard top-k lists -> one global candidate table, and the positives' scores.

Each shard's lists are ordered by ``(-score, passage_idx)``, a total order that does not
depend on the shard count, so the merged top-k is the same for 1 shard or many.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

from ..integrity import verify, write_table_fingerprints
from ..io import atomic_path
from .candidates import CANDIDATE_SCHEMA, QueryRun, ranks_within, write_positive_scores
from .search import order_candidates
from .vectors import QueryVectors, ShardedMatrix, pair_dot

if TYPE_CHECKING:
    from ..stages.merge import MergeJob


def merge_shards(shard_ids, shard_scores, out_candidates, *, topk: int, chunk: int, logger=None) -> int:
    """Merge per-shard top-k lists into ``candidates.parquet`` (one row group per chunk
    of queries, so readers can stream whole queries)."""
    ids_parts = [np.load(p, mmap_mode="r") for p in shard_ids]
    sc_parts = [np.load(p, mmap_mode="r") for p in shard_scores]
    n_q = ids_parts[0].shape[0]
    rows = 0
    with atomic_path(out_candidates) as tmp:
        with pq.ParquetWriter(tmp, CANDIDATE_SCHEMA, compression="zstd") as w:
            for s in range(0, n_q, chunk):
                if len(ids_parts) == 1:  # one shard's lists are already in order: no re-sort
                    ids, scs = np.asarray(ids_parts[0][s : s + chunk]), np.asarray(sc_parts[0][s : s + chunk])
                else:
                    ids = np.concatenate([a[s : s + chunk] for a in ids_parts], axis=1)
                    scs = np.concatenate([a[s : s + chunk] for a in sc_parts], axis=1)
                    ids, scs = order_candidates(ids, scs, topk)
                valid = ids >= 0
                qidx = np.broadcast_to(np.arange(s, s + len(ids))[:, None], ids.shape)[valid]
                t = QueryRun(qidx, ranks_within(qidx), ids[valid], scs[valid]).table()
                w.write_table(t, row_group_size=max(1, t.num_rows))
                rows += t.num_rows
        if logger:
            logger.info("merged %d shard(s): %d queries, %d candidate rows", len(shard_ids), n_q, rows)
    return rows


def positive_scores(query_npys, passage_npys, qrels_path, out_path, chunk: int = 65536, twins=None) -> None:
    """Score every (query, passage) pair of ``qrels_path`` (the positives, or the given
    negatives) with the same vectors, exactly as candidates."""
    qm = QueryVectors(query_npys, twins, passage_npys)
    pm = qm.passages or ShardedMatrix(passage_npys)
    qrels = pq.read_table(qrels_path)
    qi = qrels.column("query_idx").to_numpy()
    pi = qrels.column("passage_idx").to_numpy()
    scores = np.empty(len(qi), dtype=np.float32)
    for s in range(0, len(qi), chunk):
        a = qm.take(qi[s : s + chunk]).astype(np.float64)
        b = pm.take(pi[s : s + chunk]).astype(np.float64)
        scores[s : s + chunk] = pair_dot(a, b).astype(np.float32)
    write_positive_scores(out_path, qi, pi, scores)


def run(inputs, outputs, job: MergeJob, logger=None) -> None:
    """``outputs.candidates`` from every shard's ``inputs.ids`` / ``inputs.scores``, and
    ``outputs.positive_scores`` of every qrel (``inputs.qrels``) and ``outputs.given_scores``
    of every given negative (``inputs.negatives``) with the same vectors."""
    o = job.search
    verify([*inputs.queries, *inputs.passages], list(inputs.embed_stats), dataset=job.dataset, logger=logger)
    merge_shards(
        list(inputs.ids), list(inputs.scores), outputs.candidates, topk=o.topk, chunk=o.query_chunk, logger=logger
    )
    for pairs, out in ((inputs.qrels, outputs.positive_scores), (inputs.negatives, outputs.given_scores)):
        positive_scores(
            list(inputs.queries), list(inputs.passages), pairs, out, twins=inputs.twins if job.share_twins else None
        )
    write_table_fingerprints("merge", job.dataset, outputs)
