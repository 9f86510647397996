"""The cached vectors as every stage reads them: rows of row-sharded ``.npy`` files by
global index (memory-mapped), queries that take their twin passage's vector, and the one
way a pair of vectors is scored."""

from __future__ import annotations

import os

import numpy as np


def pair_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products in float64 along the last axis.

    Multiply-then-``sum`` uses NumPy's pairwise summation over a contiguous axis, whose
    order depends only on the vector length: the same pair scores the same wherever it
    is computed (candidate search or positive scoring), whatever the batch around it.
    """
    return np.ascontiguousarray(a * b).sum(axis=-1)


class ShardedMatrix:
    """Row access by global index into a list of row-sharded ``.npy`` files (mmapped)."""

    def __init__(self, paths):
        self.parts = [np.load(p, mmap_mode="r") for p in paths]
        self.starts = np.cumsum([0] + [len(a) for a in self.parts])

    def take(self, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        dim = next((a.shape[1] for a in self.parts if a.ndim == 2), 0)
        out = np.empty((len(idx), dim), dtype=np.float32)
        part = np.searchsorted(self.starts, idx, side="right") - 1
        for j in np.unique(part):
            sel = part == j
            out[sel] = self.parts[j][idx[sel] - self.starts[j]]
        return out


class QueryVectors(ShardedMatrix):
    """Query vectors by global row. With ``twins`` (path or array, -1 = none), a query whose
    text is also a passage reads that passage's vector from ``passage_npys``: its own row
    in the query files was not encoded."""

    def __init__(self, query_npys, twins=None, passage_npys=None):
        super().__init__(query_npys)
        if isinstance(twins, (str, os.PathLike)):
            twins = np.load(twins, mmap_mode="r")
        if twins is not None and passage_npys is None:
            raise ValueError("query twins need the passage vectors (passage_npys)")
        self.twins = twins
        self.passages = ShardedMatrix(passage_npys) if twins is not None else None

    def __len__(self) -> int:
        return int(self.starts[-1])

    def take(self, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        out = super().take(idx)
        if self.twins is not None and len(idx):
            twin = np.asarray(self.twins[idx])
            has = twin >= 0
            if has.any():
                out[has] = self.passages.take(twin[has])
        return out
