"""Optional cross-encoder rescoring of the cached candidates (sentence-transformers
``CrossEncoder``), as ``mine_hard_negatives(cross_encoder=...)`` does: every candidate and
every positive gets the cross-encoder's score, candidates are re-ranked by it, and the
margins and score bounds of the mine stage then apply to these scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

from ..data.texts import passage_text
from ..data.textstore import TextStore, passage_store, scratch_dir
from ..devices import pick_device
from ..integrity import verify_tables, write_table_fingerprints
from ..io import InputError, atomic_path, describe_error
from ..models import resolve_model_path
from ..options import CrossEncoderOptions
from .candidates import CANDIDATE_SCHEMA, QueryRun, iter_query_runs, ranks_within, write_positive_scores

if TYPE_CHECKING:
    from ..stages.rescore import RescoreJob


def load_cross_encoder(opts: CrossEncoderOptions):
    from sentence_transformers import CrossEncoder

    device = pick_device()
    try:
        model = CrossEncoder(
            resolve_model_path(opts.name_or_path),
            device=device,
            max_length=opts.max_length,
            trust_remote_code=opts.trust_remote_code,
        )
    except (OSError, ValueError, ImportError) as exc:
        raise InputError(
            f"cross_encoder.name_or_path ({opts.name_or_path}) cannot be loaded: {describe_error(exc)}"
        ) from exc
    if device.startswith("cuda"):
        model.model.half()
    return model


class PairScorer:
    """Cross-encoder scores of (query row, passage row) pairs of one dataset."""

    def __init__(self, model, qtexts: list[str], passages: TextStore, batch_size: int):
        self.model, self.qtexts, self.passages, self.batch_size = model, qtexts, passages, batch_size

    def __call__(self, qi: np.ndarray, pi: np.ndarray) -> np.ndarray:
        """float32 score of (query ``qi[k]``, passage ``pi[k]``) per k."""
        if len(qi) == 0:
            return np.empty(0, dtype=np.float32)
        got = self.passages.take(pi)
        pairs = [
            (self.qtexts[q], passage_text(a, b)) for q, a, b in zip(qi.tolist(), got["title"], got["text"], strict=True)
        ]
        scores = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return np.asarray(scores, dtype=np.float32)


def run(inputs, outputs, job: RescoreJob, logger=None) -> None:
    """``outputs.candidates`` (re-ranked), ``outputs.positive_scores`` and
    ``outputs.given_scores``, scored by the cross-encoder, from merge's."""
    options = job.cross_encoder
    verify_tables(inputs, job.dataset, logger)
    model = load_cross_encoder(options)
    qtexts = pq.read_table(inputs.queries, columns=["text"]).column("text").to_pylist()
    n_groups = pq.ParquetFile(inputs.candidates).num_row_groups
    with scratch_dir(outputs.candidates) as scratch:
        score = PairScorer(model, qtexts, passage_store(inputs.passages, scratch, hashed=False), options.batch_size)
        with atomic_path(outputs.candidates) as tmp, pq.ParquetWriter(tmp, CANDIDATE_SCHEMA, compression="zstd") as w:
            for i, run_ in enumerate(iter_query_runs(inputs.candidates)):
                qi, pi = run_.query_idx, run_.passage_idx
                scores = score(qi, pi)
                # re-rank within each query by (-score, passage_idx), as the merge orders them
                order = np.lexsort((pi, -scores.astype(np.float64), qi))
                qi, pi, scores = qi[order], pi[order], scores[order]
                w.write_table(QueryRun(qi, ranks_within(qi), pi, scores).table(), row_group_size=max(1, len(qi)))
                if logger:
                    logger.info("rescored run %d (of about %d row groups, %d pairs)", i + 1, n_groups, len(qi))
        for pairs, out in (
            (inputs.positive_scores, outputs.positive_scores),
            (inputs.given_scores, outputs.given_scores),
        ):
            table = pq.read_table(pairs)
            qi, pi = table.column("query_idx").to_numpy(), table.column("passage_idx").to_numpy()
            write_positive_scores(out, qi, pi, score(qi, pi))
    write_table_fingerprints("rescore", job.dataset, outputs)
