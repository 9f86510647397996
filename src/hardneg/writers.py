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

    def __init__(self, path, num_negatives: int, with_scores: bool, columns=("anchor", "positive")):
        self.n, self.with_scores, self.columns = num_negatives, with_scores, tuple(columns)
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


class _ParquetWriter(Writer):
    """Base of the parquet formats: the columns of ``_fields()``, one batch per run of
    queries. Passages are their embedded text (``passage_text``)."""

    def _fields(self) -> list:
        raise NotImplementedError

    def _open(self) -> None:
        self._schema = pa.schema(self._fields())
        self._pq = pq.ParquetWriter(self._tmp, self._schema)
        self._cols: dict[str, list] = {c: [] for c in self._schema.names}

    def _close_file(self) -> None:
        self._pq.close()

    def fragments(self, docids, titles, texts):
        return [passage_text(a, b) for a, b in zip(titles, texts, strict=True)]

    def _row(self, *values) -> None:
        for name, v in zip(self._schema.names, values, strict=True):
            self._cols[name].append(v)
        self.rows += 1

    def flush(self) -> None:
        if self.rows and self._cols[self._schema.names[0]]:
            self._pq.write_table(pa.table([self._cols[c] for c in self._schema.names], schema=self._schema))
            self._cols = {c: [] for c in self._schema.names}


def _rounded(scores) -> list:
    return [round(float(s), 6) for s in scores]


class TripletWriter(_ParquetWriter):
    """sentence-transformers' ``triplet``: ``ANCHOR``, ``POSITIVE``, ``negative`` (strings),
    one row per (positive, negative); ``scores`` ``[positive, negative]``."""

    def _fields(self):
        a, p = self.columns
        return [(a, pa.string()), (p, pa.string()), ("negative", pa.string())] + (
            [("scores", pa.list_(pa.float64()))] if self.with_scores else []
        )

    def add(self, rec: Record) -> None:
        for pos, ps in zip(rec.positives, rec.positive_scores, strict=True):
            for neg, ns in zip(rec.negatives, rec.negative_scores, strict=True):
                self._row(rec.query, pos, neg, *([_rounded((ps, ns))] if self.with_scores else []))


class LabeledPairWriter(_ParquetWriter):
    """sentence-transformers' ``labeled-pair``: ``ANCHOR``, ``POSITIVE`` (a positive or a
    negative) and ``label`` (1 or 0, int64), or with scores ``score`` (float64) instead;
    each query's positives first, then its negatives."""

    def _fields(self):
        a, p = self.columns
        last = ("score", pa.float64()) if self.with_scores else ("label", pa.int64())
        return [(a, pa.string()), (p, pa.string()), last]

    def add(self, rec: Record) -> None:
        for texts, scores, label in ((rec.positives, rec.positive_scores, 1), (rec.negatives, rec.negative_scores, 0)):
            for text, score in zip(texts, scores, strict=True):
                self._row(rec.query, text, round(float(score), 6) if self.with_scores else label)


class LabeledListWriter(_ParquetWriter):
    """sentence-transformers' ``labeled-list``: ``ANCHOR`` (string), ``POSITIVE`` (list: the
    positive, then the negatives) and ``labels`` (``[1, 0, ...]``, int64), or with scores
    ``scores`` (float64) instead; one row per positive."""

    def _fields(self):
        a, p = self.columns
        last = ("scores", pa.list_(pa.float64())) if self.with_scores else ("labels", pa.list_(pa.int64()))
        return [(a, pa.string()), (p, pa.list_(pa.string())), last]

    def add(self, rec: Record) -> None:
        for pos, ps in zip(rec.positives, rec.positive_scores, strict=True):
            last = _rounded([ps, *rec.negative_scores]) if self.with_scores else [1] + [0] * len(rec.negatives)
            self._row(rec.query, [pos, *rec.negatives], last)


class NTupleWriter(_ParquetWriter):
    """sentence-transformers' ``n-tuple``: ``ANCHOR``, ``POSITIVE``, ``negative_1..n``
    (strings), one row per positive; ``scores`` ``[positive, negative_1, ...]``. The miner
    passes only queries with a full set of negatives in this format."""

    def _fields(self):
        a, p = self.columns
        names = [a, p] + [f"negative_{i}" for i in range(1, self.n + 1)]
        return [(c, pa.string()) for c in names] + ([("scores", pa.list_(pa.float64()))] if self.with_scores else [])

    def add(self, rec: Record) -> None:
        for text, score in zip(rec.positives, rec.positive_scores, strict=True):
            scores = [_rounded([score, *rec.negative_scores])] if self.with_scores else []
            self._row(rec.query, text, *rec.negatives, *scores)
