"""Test helpers: each stage's ``run(inputs, outputs, options, logger)`` called with plain
paths, as the Snakemake scripts call it with the rule's named inputs and outputs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from hardneg.data import prepare
from hardneg.data.texts import normalized_text
from hardneg.encode import embed
from hardneg.mining import mine
from hardneg.mining.select import REASONS, CandidateArrays, count_reasons, query_seeds, sample_keys, select_candidates
from hardneg.options import EmbedOptions, MiningOptions, ModelOptions, SearchOptions
from hardneg.search import merge, search
from hardneg.stages.embed import EmbedJob
from hardneg.stages.mine import MineJob
from hardneg.stages.prepare import PrepareJob

Files = SimpleNamespace


def prepare_dataset(fmt, raw, tables, out_stats, *, dataset="d", **kw) -> dict:
    """Prepare ``raw`` into ``tables`` (queries, passages, qrels parquet paths); ``kw``:
    max_rows, max_bad_rows, qrels_split, out_twins, out_negatives."""
    out_q, out_p, out_r = tables
    twins = kw.pop("out_twins", None) or Path(out_stats).with_name(Path(out_stats).stem + ".twins.npy")
    job = PrepareJob(
        dataset=dataset,
        format=fmt,
        max_rows=kw.pop("max_rows", None),
        max_bad_rows=kw.pop("max_bad_rows", 0),
        qrels_split=kw.pop("qrels_split", "train"),
    )
    negatives = kw.pop("out_negatives", None) or Path(out_r).with_name(Path(out_r).stem + ".negatives.parquet")
    assert not kw, kw
    outputs = Files(queries=out_q, passages=out_p, qrels=out_r, negatives=negatives, twins=twins, stats=out_stats)
    return prepare.run(Files(raw=raw), outputs, job)


def embed_shard(queries, passages, out_q, out_p, model: dict, *, shard=0, n_shards=1, block_rows=8192, threads=1):
    """Embed one shard (no twin sharing); stats next to ``out_q``."""
    job = EmbedJob(
        dataset="d",
        model=ModelOptions(**model),
        embed=EmbedOptions(block_rows=block_rows),
        shard=shard,
        n_shards=n_shards,
        share_twins=False,
        threads=threads,
    )
    stats = Path(out_q).with_name(Path(out_q).stem + ".stats.json")
    return embed.run(Files(queries=queries, passages=passages), Files(queries=out_q, passages=out_p, stats=stats), job)


def search_files(query_npys, passage_npy, offset, out_ids, out_scores, *, twins=None, passage_npys=None, **opts):
    """search.search_shard with SearchOptions(**opts) (``device`` defaults to ``cpu``)."""
    opts.setdefault("device", "cpu")
    search.search_shard(
        query_npys,
        passage_npy,
        offset,
        Files(ids=out_ids, scores=out_scores),
        SearchOptions(**opts),
        twins=twins,
        passage_npys=passage_npys,
    )


def merge_shards(ids, scores, topk, out, chunk=4096) -> int:
    return merge.merge_shards(ids, scores, out, topk=topk, chunk=chunk)


def mine_dataset(tables, scored, out, stats, opts: MiningOptions, *, dataset="") -> dict:
    """Mine ``tables`` (queries, passages) with ``scored`` (candidates, positive scores)."""
    (queries, passages), (candidates, positive_scores) = tables, scored
    inputs = Files(
        queries=queries, passages=passages, candidates=candidates, positive_scores=positive_scores, cache_stats=[]
    )
    return mine.run(inputs, Files(mined=out, stats=stats), MineJob(dataset=dataset, mining=opts))


def select_negatives(query, candidates, positives, opts, removed) -> list[int]:
    """One query through select_candidates: the positions (into the ranked candidate
    list) of the chosen negatives. ``removed`` (a Counter) is incremented per reason.
    There are no vectors here: no candidate is near a positive's vector. ``query`` is
    (id, text), ``candidates`` (ids, scores, texts) in rank order, ``positives`` (ids,
    texts, the score margins are measured from, or None)."""
    (query_id, query_text), (cand_ids, cand_scores, cand_texts) = query, candidates
    positive_ids, positive_texts, positive_score = positives
    m = len(cand_ids)
    ids = np.asarray(cand_ids, dtype=np.int64)
    normalized_positives = {normalized_text(t) for t in positive_texts}
    arrays = CandidateArrays(
        cq=np.zeros(m, dtype=np.int64),
        rank=np.arange(m),
        scores=np.asarray(cand_scores, dtype=np.float64),
        excl_id=np.isin(ids, list(positive_ids)),
        excl_text=np.asarray([t in positive_texts for t in cand_texts], dtype=bool),
        is_query_text=np.asarray([t == query_text for t in cand_texts], dtype=bool),
        margin=np.full(m, np.nan if positive_score is None else positive_score),
        keys=sample_keys(np.full(m, query_seeds(opts.seed, [query_id])[0]), ids),
        excl_norm_text=np.asarray([normalized_text(t) in normalized_positives for t in cand_texts], dtype=bool),
        positive_similarity=np.full(m, -np.inf, dtype=np.float32),
    )
    chosen, reason = select_candidates(arrays, 1, opts)
    for code, count in enumerate(count_reasons(reason)[1:], start=1):
        if count:
            removed[REASONS[code - 1]] += int(count)
    return chosen.tolist()
