"""The examples page's sample of a mined file, kept by the mine job as it writes: a fixed
number of written queries, in numbers.

Each written query (a line of a JSON-lines file; a query's rows in a parquet file) gets
the seeded key ``sample_keys(seed, its number)``; :class:`SampleKeeper` keeps, run by run,
the ``SCAN`` queries of lowest key (and the ``SHOW`` of lowest key under ``seed + 1``):
the same rows as picking them from the whole file afterwards, in memory and time that do
not grow with the file. Saved as ``.npz`` beside ``mine_stats.json``; the examples job
reads it instead of the mined file, the tables and the candidate table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..arrays import runs_of
from ..io import atomic_path
from .select import sample_keys

SCAN = 2_000  # queries scanned for the suspicious negatives
SHOW = 20  # queries shown whole


@dataclass
class Sample:
    """Written queries and, query by query, their positives and negatives (passage rows,
    scores: the candidate table's for negatives, the scored qrels' for positives)."""

    record: np.ndarray  # its number among the written queries (its line in JSON lines)
    query_row: np.ndarray
    pos_n: np.ndarray
    pos_row: np.ndarray
    pos_score: np.ndarray
    neg_n: np.ndarray
    neg_row: np.ndarray
    neg_rank: np.ndarray
    neg_score: np.ndarray
    shown: np.ndarray  # bool per query: one of the SHOW

    def take(self, keep: np.ndarray) -> Sample:
        """The queries ``keep`` (positions, in order)."""
        pos, neg = _items(self.pos_n, keep), _items(self.neg_n, keep)
        return Sample(
            self.record[keep],
            self.query_row[keep],
            self.pos_n[keep],
            self.pos_row[pos],
            self.pos_score[pos],
            self.neg_n[keep],
            self.neg_row[neg],
            self.neg_rank[neg],
            self.neg_score[neg],
            self.shown[keep],
        )

    @staticmethod
    def concat(a: Sample, b: Sample) -> Sample:
        return Sample(*(np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(Sample)))

    def save(self, path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **{f.name: getattr(self, f.name) for f in fields(Sample)})

    @staticmethod
    def load(path) -> Sample:
        with np.load(path) as z:
            return Sample(**{f.name: z[f.name] for f in fields(Sample)})


def _items(counts: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Item positions of the queries ``keep``, for items counted per query."""
    return runs_of(np.r_[0, np.cumsum(counts)].astype(np.int64)[keep], counts[keep])


def empty() -> Sample:
    i, f = np.zeros(0, np.int64), np.zeros(0, np.float64)
    return Sample(i, i, i, i, f, i, i, i, f, np.zeros(0, bool))


class SampleKeeper:
    """The bottom-``SCAN`` (and bottom-``SHOW`` under ``seed + 1``) written queries by key."""

    def __init__(self, seed: int):
        self.seed = seed
        self.kept = empty()
        self.written = 0

    def add(self, run: Sample) -> None:
        """A run of written queries (``record`` is filled here, in writing order)."""
        run.record = np.arange(self.written, self.written + len(run.query_row), dtype=np.int64)
        self.written += len(run.query_row)
        both = Sample.concat(self.kept, run)
        scan = _lowest(both.record, self.seed, SCAN)
        show = _lowest(both.record, self.seed + 1, SHOW)
        both.shown = np.isin(np.arange(len(both.record)), show)
        self.kept = both.take(np.union1d(scan, show))


def _lowest(records: np.ndarray, seed: int, k: int) -> np.ndarray:
    """Positions of the ``k`` records of lowest key (the keys of distinct records differ)."""
    if len(records) <= k:
        return np.arange(len(records))
    keys = sample_keys(np.full(len(records), seed, dtype=np.uint64), records)
    return np.argpartition(keys, k)[:k]
