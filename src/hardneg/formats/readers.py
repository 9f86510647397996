"""One reader per output format (named in :mod:`hardneg.formats`): a mined file back as
rows of texts, the passages as ``passage_text`` joins them, in file order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ..data.texts import passage_text


class MinedRow(NamedTuple):
    """One row of a mined file: the query, its positives' and its negatives' texts."""

    query: str
    positives: list[str]
    negatives: list[str]


def _json_lines(path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def tevatron_row(r: dict) -> MinedRow:
    return MinedRow(
        r["query"],
        [passage_text(p["title"], p["text"]) for p in r["positive_passages"]],
        [passage_text(p["title"], p["text"]) for p in r["negative_passages"]],
    )


def flagembedding_row(r: dict) -> MinedRow:
    return MinedRow(r["query"], r["pos"], r["neg"])


def read_tevatron(path) -> Iterator[MinedRow]:
    return map(tevatron_row, _json_lines(path))


def read_flagembedding(path) -> Iterator[MinedRow]:
    return map(flagembedding_row, _json_lines(path))


JSON_ROWS = {"read_tevatron": tevatron_row, "read_flagembedding": flagembedding_row}


def line_starts(path, chunk: int = 1 << 26) -> np.ndarray:
    """Byte offset of every line of a file (and its size last), found a chunk at a time."""
    parts, offset = [np.zeros(1, dtype=np.int64)], 0
    with open(path, "rb") as fh:
        while buf := fh.read(chunk):
            parts.append(np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10) + offset + 1)
            offset += len(buf)
    starts = np.concatenate(parts)
    return starts if starts[-1] == offset else np.r_[starts, offset]


def json_rows(path, rows, convert) -> dict[int, MinedRow]:
    """Lines ``rows`` (0-based) of a JSON-lines file, each read and parsed alone."""
    starts = line_starts(path)
    out = {}
    with open(path, "rb") as fh:
        for i in sorted(int(r) for r in rows if 0 <= r < len(starts) - 1):
            fh.seek(starts[i])
            out[i] = convert(json.loads(fh.read(int(starts[i + 1] - starts[i]))))
    return out


def _parquet_rows(path) -> Iterator[tuple]:
    """Each row of a mined parquet file as a tuple, in column order (anchor first)."""
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches():
        yield from zip(*batch.to_pydict().values(), strict=True)


def _columns(path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).schema_arrow.names


def read_n_tuple(path) -> Iterator[MinedRow]:
    names = _columns(path)
    negs = [i for i, c in enumerate(names) if c.startswith("negative_")]
    for row in _parquet_rows(path):
        yield MinedRow(row[0], [row[1]], [row[i] for i in negs])


def _runs(rows, key) -> Iterator[list]:
    """Runs of consecutive rows with the same ``key(row)``."""
    run, last = [], object()
    for row in rows:
        k = key(row)
        if run and k != last:
            yield run
            run = []
        run.append(row)
        last = k
    if run:
        yield run


def read_triplet(path) -> Iterator[MinedRow]:
    """One row per (anchor, positive): the run of its triplets' negatives."""
    for run in _runs(_parquet_rows(path), lambda r: (r[0], r[1])):
        yield MinedRow(run[0][0], [run[0][1]], [r[2] for r in run])


def read_labeled_pair(path) -> Iterator[MinedRow]:
    """One row per anchor: label 1 rows are its positives, label 0 its negatives. With
    scores there is no label column: each anchor's first row is taken as its positive."""
    labeled = _columns(path)[2] == "label"
    for run in _runs(_parquet_rows(path), lambda r: r[0]):
        if labeled:
            yield MinedRow(run[0][0], [r[1] for r in run if r[2] == 1], [r[1] for r in run if r[2] != 1])
        else:
            yield MinedRow(run[0][0], [run[0][1]], [r[1] for r in run[1:]])


def read_labeled_list(path) -> Iterator[MinedRow]:
    for anchor, texts, _labels in _parquet_rows(path):
        yield MinedRow(anchor, texts[:1], texts[1:])


def count_lines(path) -> int:
    return len(line_starts(path)) - 1


def count_parquet_rows(path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
