"""The candidate tables that search writes and rescore and mine read.

``candidates.parquet``: ``query_idx``, ``rank`` (0-based, within the query), ``passage_idx``,
``score``; rows sorted by query, then rank; row groups hold runs of whole queries.
``positive_scores.parquet``: ``query_idx``, ``passage_idx``, ``score``, one row per qrel.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..io import atomic_path

CANDIDATE_SCHEMA = pa.schema(
    [("query_idx", pa.int64()), ("rank", pa.int32()), ("passage_idx", pa.int64()), ("score", pa.float32())]
)
POSITIVE_SCHEMA = pa.schema([("query_idx", pa.int64()), ("passage_idx", pa.int64()), ("score", pa.float32())])


def ranks_within(groups: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal values of sorted ``groups``:
    a candidate's rank in its query."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


@dataclass
class QueryRun:
    """Every candidate of a run of whole queries, sorted by query then rank."""

    query_idx: np.ndarray
    rank: np.ndarray
    passage_idx: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.query_idx)

    def cut(self, lo: int, hi: int) -> QueryRun:
        return QueryRun(self.query_idx[lo:hi], self.rank[lo:hi], self.passage_idx[lo:hi], self.score[lo:hi])

    def take(self, rows: np.ndarray) -> QueryRun:
        return QueryRun(*(c[rows] for c in self.columns()))

    @staticmethod
    def concat(a: QueryRun, b: QueryRun) -> QueryRun:
        return QueryRun(*(np.concatenate([x, y]) for x, y in zip(a.columns(), b.columns(), strict=True)))

    def columns(self) -> tuple[np.ndarray, ...]:
        return self.query_idx, self.rank, self.passage_idx, self.score

    def table(self) -> pa.Table:
        return pa.table(
            [self.query_idx, self.rank.astype(np.int32), self.passage_idx, self.score.astype(np.float32)],
            schema=CANDIDATE_SCHEMA,
        )


def iter_query_runs(path) -> Iterator[QueryRun]:
    """Stream ``candidates.parquet`` a row group at a time, in query order, each run ending
    on a whole query: a query that goes on in the next row group is completed from it."""
    pf = pq.ParquetFile(path)
    held: QueryRun | None = None
    last_query = -1
    for rg in range(pf.num_row_groups):
        t = pf.read_row_group(rg, columns=["query_idx", "rank", "passage_idx", "score"])
        part = QueryRun(
            t.column(0).to_numpy().astype(np.int64, copy=False),
            t.column(1).to_numpy().astype(np.int64),
            t.column(2).to_numpy().astype(np.int64, copy=False),
            t.column(3).to_numpy().astype(np.float64),
        )
        if len(part) == 0:
            continue
        if np.any(np.diff(part.query_idx) < 0) or part.query_idx[0] < last_query:
            raise ValueError(f"{path}: row group {rg} is not in query order")
        last_query = int(part.query_idx[-1])
        if held is not None:
            part = QueryRun.concat(held, part)
        # hold the last query back: it may go on in the next row group
        cut = int(np.searchsorted(part.query_idx, part.query_idx[-1]))
        held = part.cut(cut, len(part))
        if cut:
            yield part.cut(0, cut)
    if held is not None:
        yield held


def write_positive_scores(path, query_idx: np.ndarray, passage_idx: np.ndarray, scores: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(pa.table([query_idx, passage_idx, scores], schema=POSITIVE_SCHEMA), tmp)


def read_positive_scores(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query_idx, passage_idx, score) of every qrel, sorted by query (stable)."""
    ps = pq.read_table(path)
    qi = ps.column("query_idx").to_numpy().astype(np.int64)
    pi = ps.column("passage_idx").to_numpy().astype(np.int64)
    sc = ps.column("score").to_numpy().astype(np.float64)
    if len(qi) and np.any(np.diff(qi) < 0):
        order = np.argsort(qi, kind="stable")
        qi, pi, sc = qi[order], pi[order], sc[order]
    return qi, pi, sc
