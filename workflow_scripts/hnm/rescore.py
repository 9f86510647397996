"""Optional cross-encoder rescoring of the cached candidates (sentence-transformers
``CrossEncoder``), as ``mine_hard_negatives(cross_encoder=...)`` does: every candidate and
every positive gets the cross-encoder's score, candidates are re-ranked by it, and the
margins and score bounds of the mine stage then apply to these scores."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .embed import pick_device, resolve_model_path
from .io import atomic_path
from .mine import Passages
from .prepare import passage_text
from .search import CANDIDATE_SCHEMA, POSITIVE_SCHEMA


def load_cross_encoder(cfg: dict):
    from sentence_transformers import CrossEncoder

    device = pick_device()
    model = CrossEncoder(
        resolve_model_path(cfg["name_or_path"]),
        device=device,
        max_length=cfg["max_length"],
        trust_remote_code=cfg.get("trust_remote_code", False),
    )
    if device.startswith("cuda"):
        model.model.half()
    return model


def score_pairs(model, qtexts: list[str], passages: Passages, qi: np.ndarray, pi: np.ndarray, batch_size: int):
    """Cross-encoder scores of (query ``qi[k]``, passage ``pi[k]``) pairs, as float32."""
    if len(qi) == 0:
        return np.empty(0, dtype=np.float32)
    _, titles, texts = passages.take(pi)
    pairs = [(qtexts[q], passage_text(a, b)) for q, a, b in zip(qi.tolist(), titles, texts, strict=True)]
    return np.asarray(model.predict(pairs, batch_size=batch_size, show_progress_bar=False), dtype=np.float32)


def rescore(
    queries_path, passages_path, candidates_path, positives_path, out_candidates, out_positives, cfg: dict, logger=None
) -> None:
    """Write re-ranked candidates and positive scores, both scored by the cross-encoder."""
    model = load_cross_encoder(cfg)
    qtexts = pq.read_table(queries_path, columns=["text"]).column("text").to_pylist()
    passages = Passages(passages_path)
    pf = pq.ParquetFile(candidates_path)
    with atomic_path(out_candidates) as tmp, pq.ParquetWriter(tmp, CANDIDATE_SCHEMA, compression="zstd") as w:
        for rg in range(pf.num_row_groups):  # one row group = whole queries (see merge_shards)
            t = pf.read_row_group(rg)
            qi = t.column("query_idx").to_numpy()
            pi = t.column("passage_idx").to_numpy()
            scores = score_pairs(model, qtexts, passages, qi, pi, cfg["batch_size"])
            # re-rank within each query by (-score, passage_idx), as the merge orders them
            order = np.lexsort((pi, -scores.astype(np.float64), qi))
            qi, pi, scores = qi[order], pi[order], scores[order]
            starts = np.r_[0, np.flatnonzero(np.diff(qi)) + 1]
            rank = np.arange(len(qi)) - np.repeat(starts, np.diff(np.r_[starts, len(qi)]))
            w.write_table(
                pa.table([qi, rank.astype(np.int32), pi, scores], schema=CANDIDATE_SCHEMA),
                row_group_size=max(1, len(qi)),
            )
            if logger:
                logger.info("rescored row group %d/%d (%d pairs)", rg + 1, pf.num_row_groups, len(qi))
    pos = pq.read_table(positives_path)
    pq_i = pos.column("query_idx").to_numpy()
    pp_i = pos.column("passage_idx").to_numpy()
    pscores = score_pairs(model, qtexts, passages, pq_i, pp_i, cfg["batch_size"])
    with atomic_path(out_positives) as tmp:
        pq.write_table(pa.table([pq_i, pp_i, pscores], schema=POSITIVE_SCHEMA), tmp)
