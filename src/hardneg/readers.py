"""One reader per output format (named in :mod:`hardneg.formats`): a mined file back as
rows of texts, the passages as ``passage_text`` joins them, in file order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import NamedTuple

from .texts import passage_text


class MinedRow(NamedTuple):
    """One row of a mined file: the query, its positives' and its negatives' texts."""

    query: str
    positives: list[str]
    negatives: list[str]


def _json_lines(path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def read_tevatron(path) -> Iterator[MinedRow]:
    for r in _json_lines(path):
        yield MinedRow(
            r["query"],
            [passage_text(p["title"], p["text"]) for p in r["positive_passages"]],
            [passage_text(p["title"], p["text"]) for p in r["negative_passages"]],
        )


def read_flagembedding(path) -> Iterator[MinedRow]:
    for r in _json_lines(path):
        yield MinedRow(r["query"], r["pos"], r["neg"])


def read_sentence_transformers(path) -> Iterator[MinedRow]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches():
        cols = batch.to_pydict()
        negs = sorted((c for c in cols if c.startswith("negative_")), key=lambda c: int(c.split("_")[1]))
        for i, q in enumerate(cols["anchor"]):
            yield MinedRow(q, [cols["positive"][i]], [cols[c][i] for c in negs])


def count_lines(path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def count_parquet_rows(path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
