"""What tells a negative from a copy of its positive, beyond the exact id and text:

- normalized text (:func:`hardneg.data.texts.normalized_text`): one id per passage, the same for
  passages equal after NFKC, casefolding and whitespace collapse;
- passage-passage cosine: each candidate's highest similarity to its query's positives,
  from the embedding cache (no re-embedding). Vectors are read from the memory-mapped
  shards in bounded steps, so memory is one step of gathered vectors.
"""

from __future__ import annotations

import numpy as np

from ..data.texts import normalized_text, passage_text, row_ids, table_hashes
from ..search.vectors import ShardedMatrix, pair_dot

STEP = 32768  # (candidate, positive) pairs scored at a time


def normalized_ids(passages_path) -> np.ndarray:
    """One id per passage row; equal ids for equal normalized ``title + text``."""

    def normalized(b):
        titles, texts = b.column("title").to_pylist(), b.column("text").to_pylist()
        return [normalized_text(passage_text(a or "", t or "")) for a, t in zip(titles, texts, strict=True)]

    return row_ids(table_hashes(passages_path, ["title", "text"], normalized, 32768))


class PositiveSimilarity:
    """Cosine of a candidate passage to the positives of its query (vectors are unit length)."""

    def __init__(self, passage_npys, pos_p: np.ndarray, pos_starts: np.ndarray):
        self.vectors = ShardedMatrix(passage_npys)
        self.pos_p, self.pos_starts = pos_p, pos_starts

    def highest(self, query_idx: np.ndarray, passage_idx: np.ndarray) -> np.ndarray:
        """float32 per candidate: its highest cosine to a positive of its query (-inf if none)."""
        first = self.pos_starts[query_idx]
        n_pos = self.pos_starts[query_idx + 1] - first
        cand = np.repeat(np.arange(len(query_idx)), n_pos)
        within = np.arange(int(n_pos.sum())) - np.repeat(np.cumsum(n_pos) - n_pos, n_pos)
        pos = self.pos_p[np.repeat(first, n_pos) + within]
        out = np.full(len(query_idx), -np.inf, dtype=np.float32)
        for s in range(0, len(cand), STEP):
            c, p = cand[s : s + STEP], pos[s : s + STEP]
            sims = pair_dot(self.vectors.take(passage_idx[c]).astype(np.float64), self.vectors.take(p))
            np.maximum.at(out, c, sims.astype(np.float32))
        return out
