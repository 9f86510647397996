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


def torch_pair_dot(a, b):
    """:func:`pair_dot` for float64 torch tensors, on any device, bit for bit: the products
    of float32 values are exact in float64, and the sum follows NumPy's pairwise order (8
    running sums in blocks of up to 128, halves above that, added from zero)."""
    return _pairwise(a * b) + 0.0


def _pairwise(x):
    n = x.shape[-1]
    if n < 8:
        res = x.new_zeros(x.shape[:-1])
        for i in range(n):
            res = res + x[..., i]
        return res
    if n <= 128:
        m = n - n % 8
        r = x[..., 0:8]
        for i in range(8, m, 8):
            r = r + x[..., i : i + 8]
        res = ((r[..., 0] + r[..., 1]) + (r[..., 2] + r[..., 3])) + ((r[..., 4] + r[..., 5]) + (r[..., 6] + r[..., 7]))
        for i in range(m, n):
            res = res + x[..., i]
        return res
    half = n // 2 - (n // 2) % 8
    return _pairwise(x[..., :half]) + _pairwise(x[..., half:])


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
