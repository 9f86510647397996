"""Evaluate stage, scoring: one variant's model on the held-out queries, against the whole
corpus.

The model (``base``: the configured one; otherwise the variant's trained folder) embeds
every passage of the prepared corpus and the held-out queries; the exact search of
:mod:`hardneg.search.search` ranks the top 100 passages of each query, one corpus chunk at a time
(memory: one chunk's vectors), and the chunks' candidates are merged by (-score, row).
Per-query nDCG@10, MRR@10 and Recall@100 go to ``outputs.per_query`` so that variants can
be compared query by query; their means to ``outputs.stats``.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..encode.embed import embedding_dim, encode_blocks, load_encoder, shard_texts
from ..io import atomic_path, write_json
from ..search.search import order_candidates, search_shard
from .metrics import METRICS, per_query_metrics

if TYPE_CHECKING:
    from ..stages.score import ScoreJob

TOPK = 100
CHUNK_ROWS = 262_144  # passages embedded and searched at a time


def rank_corpus(model, passages_path, query_texts: list[str], job: ScoreJob, tmp: Path, logger=None) -> np.ndarray:
    """(queries, 100) passage rows, best first, over every chunk of the corpus."""
    m = job.model

    def encode(texts, path, prompt, label):
        encode_blocks(
            model,
            texts,
            path,
            block_rows=job.block_rows,
            batch_size=m.batch_size,
            prompt=prompt,
            logger=logger,
            label=label,
        )

    q_npy = tmp / "queries.npy"
    encode(query_texts, q_npy, m.query_prompt, "held-out queries")
    n_passages = pq.ParquetFile(passages_path).metadata.num_rows
    block = max(1, job.block_rows)
    chunk = max(block, CHUNK_ROWS // block * block)
    n_chunks = max(1, math.ceil(n_passages / chunk))
    search = replace(job.search, topk=TOPK, index="flat", threads=job.threads)
    ids, scores = [], []
    for c in range(n_chunks):
        first, texts = shard_texts(passages_path, "passages", c, n_chunks, chunk)
        p_npy = tmp / f"passages.{c}.npy"
        encode(texts, p_npy, m.passage_prompt, f"corpus chunk {c + 1}/{n_chunks}")
        out = SimpleNamespace(ids=tmp / f"ids.{c}.npy", scores=tmp / f"scores.{c}.npy")
        search_shard([q_npy], p_npy, first, out, search, logger=logger)
        ids.append(np.load(out.ids))
        scores.append(np.load(out.scores))
        p_npy.unlink()
    ranked, _ = order_candidates(np.concatenate(ids, axis=1), np.concatenate(scores, axis=1), TOPK)
    return ranked


def run(inputs, outputs, job: ScoreJob, logger=None) -> dict:
    """Score ``inputs.heldout`` against ``inputs.passages``; write ``outputs.per_query``
    (parquet, one row per held-out query) and ``outputs.stats``."""
    import torch

    torch.set_num_threads(max(1, job.threads))
    held = pq.read_table(inputs.heldout)
    if job.variant != "base":
        job = replace(job, model=replace(job.model, name_or_path=str(inputs.model), revision=""))
    model = load_encoder(job.model, "auto", getattr(inputs, "exported", None), job.threads, logger)
    model.max_seq_length = job.evaluate.max_seq_length
    t0 = time.perf_counter()
    out_dir = Path(outputs.per_query).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".score-", dir=out_dir) as tmp:
        ranked = rank_corpus(model, inputs.passages, held.column("text").to_pylist(), job, Path(tmp), logger)
    per_query = per_query_metrics(ranked, held.column("relevant").to_pylist())
    table = pa.table({"query_id": held.column("query_id"), **{k: pa.array(v) for k, v in per_query.items()}})
    with atomic_path(outputs.per_query) as tmp:
        pq.write_table(table, tmp)
    stats = {
        "dataset": job.dataset,
        "variant": job.variant,
        "model": job.model.name_or_path if job.variant == "base" else "fine-tuned (see train_stats.json)",
        "device": str(model.device),
        "dim": embedding_dim(model),
        "queries": held.num_rows,
        "passages": pq.ParquetFile(inputs.passages).metadata.num_rows,
        **{k: float(v.mean()) if len(v) else math.nan for k, v in per_query.items()},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_json(outputs.stats, stats)
    if logger:
        scores = ", ".join(f"{k} {stats[k]:.4f}" for k in METRICS)
        logger.info("%s/%s: %s over %d queries", job.dataset, job.variant, scores, held.num_rows)
    return stats
