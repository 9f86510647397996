"""Optional cross-encoder rescoring of the cached candidates (sentence-transformers
``CrossEncoder``), as ``mine_hard_negatives(cross_encoder=...)`` does: every candidate and
every positive gets the cross-encoder's score, candidates are re-ranked by it, and the
margins and score bounds of the mine stage then apply to these scores."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .candidates import CANDIDATE_SCHEMA, QueryRun, iter_query_runs, ranks_within, write_positive_scores
from .devices import pick_device
from .embed import resolve_model_path
from .io import atomic_path
from .jobs import RescoreJob
from .options import CrossEncoderOptions
from .texts import passage_text


class Passages:
    """Random access to the whole passages table by row index."""

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


def load_cross_encoder(opts: CrossEncoderOptions):
    from sentence_transformers import CrossEncoder

    device = pick_device()
    model = CrossEncoder(
        resolve_model_path(opts.name_or_path),
        device=device,
        max_length=opts.max_length,
        trust_remote_code=opts.trust_remote_code,
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


def run(inputs, outputs, job: RescoreJob, logger=None) -> None:
    """``outputs.candidates`` (re-ranked) and ``outputs.positive_scores``, both scored by
    the cross-encoder, from merge's ``inputs.candidates`` and ``inputs.positive_scores``."""
    options = job.cross_encoder
    model = load_cross_encoder(options)
    qtexts = pq.read_table(inputs.queries, columns=["text"]).column("text").to_pylist()
    passages = Passages(inputs.passages)
    n_groups = pq.ParquetFile(inputs.candidates).num_row_groups
    with atomic_path(outputs.candidates) as tmp, pq.ParquetWriter(tmp, CANDIDATE_SCHEMA, compression="zstd") as w:
        for i, run_ in enumerate(iter_query_runs(inputs.candidates)):
            qi, pi = run_.query_idx, run_.passage_idx
            scores = score_pairs(model, qtexts, passages, qi, pi, options.batch_size)
            # re-rank within each query by (-score, passage_idx), as the merge orders them
            order = np.lexsort((pi, -scores.astype(np.float64), qi))
            qi, pi, scores = qi[order], pi[order], scores[order]
            w.write_table(QueryRun(qi, ranks_within(qi), pi, scores).table(), row_group_size=max(1, len(qi)))
            if logger:
                logger.info("rescored run %d (of about %d row groups, %d pairs)", i + 1, n_groups, len(qi))
    pos = pq.read_table(inputs.positive_scores)
    pq_i = pos.column("query_idx").to_numpy()
    pp_i = pos.column("passage_idx").to_numpy()
    pscores = score_pairs(model, qtexts, passages, pq_i, pp_i, options.batch_size)
    write_positive_scores(outputs.positive_scores, pq_i, pp_i, pscores)
