"""One writer per output format, behind one interface: ``fragments``, ``add``, ``flush``,
``close``, ``abort``. Each writes atomically: the file appears only on ``close()``.

JSON records are assembled from per-passage fragments, each escaped once per run of
queries; the bytes are exactly those of ``json.dumps(record, ensure_ascii=False)``.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as _jstr
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from .io import atomic_path
from .texts import passage_text


class Record(NamedTuple):
    """One query's output: its positives' and negatives' fragments, scores and ranks."""

    query_id: str
    query: str
    positives: list
    positive_scores: list
    negatives: list
    negative_scores: list
    negative_ranks: list


def _score_json(score: float) -> str:
    return json.dumps(round(float(score), 6))


class Writer:
    """Base: an atomic output file; ``rows`` counts the rows written."""

    def __init__(self, path, num_negatives: int, with_scores: bool):
        self.n, self.with_scores = num_negatives, with_scores
        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self.rows = 0
        self._open()

    def _open(self) -> None:
        self._fh = open(self._tmp, "w", encoding="utf-8")

    def _close_file(self) -> None:
        self._fh.close()

    def fragments(self, docids: list, titles: list, texts: list) -> list:
        """Per passage, what every record that mentions it shares (escaped once)."""
        raise NotImplementedError

    def add(self, rec: Record) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """End of a run of queries."""

    def close(self) -> None:
        self.flush()
        self._close_file()
        self._ctx.__exit__(None, None, None)

    def abort(self, exc) -> None:
        self._close_file()
        self._ctx.__exit__(type(exc), exc, None)


class TevatronWriter(Writer):
    """JSON lines: ``query_id``, ``query``, ``positive_passages``, ``negative_passages``."""

    def fragments(self, docids, titles, texts):
        return [
            f'{{"docid": {_jstr(d)}, "title": {_jstr(a)}, "text": {_jstr(b)}'
            for d, a, b in zip(docids, titles, texts, strict=True)
        ]

    def add(self, rec: Record) -> None:
        if self.with_scores:
            p = [f'{f}, "score": {_score_json(s)}}}' for f, s in zip(rec.positives, rec.positive_scores, strict=True)]
            n = [
                f'{f}, "score": {_score_json(s)}, "rank": {int(r)}}}'
                for f, s, r in zip(rec.negatives, rec.negative_scores, rec.negative_ranks, strict=True)
            ]
        else:
            p, n = [f + "}" for f in rec.positives], [f + "}" for f in rec.negatives]
        self._fh.write(
            f'{{"query_id": {_jstr(rec.query_id)}, "query": {_jstr(rec.query)}, '
            f'"positive_passages": [{", ".join(p)}], "negative_passages": [{", ".join(n)}]}}\n'
        )
        self.rows += 1


class FlagEmbeddingWriter(Writer):
    """JSON lines: ``query``, ``pos``, ``neg`` (lists of passage texts)."""

    def fragments(self, docids, titles, texts):
        return [_jstr(passage_text(a, b)) for a, b in zip(titles, texts, strict=True)]

    def add(self, rec: Record) -> None:
        line = (
            f'{{"query": {_jstr(rec.query)}, "pos": [{", ".join(rec.positives)}], "neg": [{", ".join(rec.negatives)}]'
        )
        if self.with_scores:
            line += (
                f', "pos_scores": [{", ".join(map(_score_json, rec.positive_scores))}], '
                f'"neg_scores": [{", ".join(map(_score_json, rec.negative_scores))}]'
            )
        self._fh.write(line + "}\n")
        self.rows += 1


class SentenceTransformersWriter(Writer):
    """Parquet n-tuples: ``anchor``, ``positive``, ``negative_1..n``; one row per positive.
    The miner passes only queries with a full set of negatives in this format."""

    def _open(self) -> None:
        names = ["anchor", "positive"] + [f"negative_{i}" for i in range(1, self.n + 1)]
        schema_fields = [(c, pa.string()) for c in names]
        if self.with_scores:
            schema_fields.append(("scores", pa.list_(pa.float64())))
        self._schema = pa.schema(schema_fields)
        self._pq = pq.ParquetWriter(self._tmp, self._schema)
        self._cols: dict[str, list] = {c: [] for c in self._schema.names}

    def _close_file(self) -> None:
        self._pq.close()

    def fragments(self, docids, titles, texts):
        return [passage_text(a, b) for a, b in zip(titles, texts, strict=True)]

    def add(self, rec: Record) -> None:
        for text, score in zip(rec.positives, rec.positive_scores, strict=True):
            row = {"anchor": rec.query, "positive": text}
            for i, t in enumerate(rec.negatives, start=1):
                row[f"negative_{i}"] = t
            if self.with_scores:
                row["scores"] = [round(float(score), 6)] + [round(float(s), 6) for s in rec.negative_scores]
            for k, v in row.items():
                self._cols[k].append(v)
            self.rows += 1

    def flush(self) -> None:
        if self._cols["anchor"]:
            self._pq.write_table(pa.table([self._cols[c] for c in self._schema.names], schema=self._schema))
            self._cols = {c: [] for c in self._schema.names}
