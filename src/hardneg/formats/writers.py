"""One writer per output format, behind one interface: ``fragments``, ``add_run``,
``close``, ``abort``. Each writes atomically: the file appears only on ``close()``.

A run of queries arrives column by column (:class:`Records`), and every writer builds its
rows with Arrow kernels over the whole run: no Python loop per query. JSON records are
assembled from per-passage fragments, each escaped once (the mine job makes them once per
job); the bytes are exactly those of ``json.dumps(record, ensure_ascii=False)``.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from json.encoder import encode_basestring as _jstr
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..data.textstore import joined_text
from ..io import BackgroundFile, atomic_path


class Record(NamedTuple):
    """One query's output: its positives' and negatives' fragments, scores and ranks."""

    query_id: str
    query: str
    positives: list
    positive_scores: list
    negatives: list
    negative_scores: list
    negative_ranks: list


@dataclass
class Records:
    """A run of written queries, column by column: ``pos`` and ``neg`` hold the writer's
    fragments of their positives and negatives, query after query (``pos_n`` and ``neg_n``
    per query)."""

    query_id: list
    query: list
    pos: pa.Array
    pos_n: np.ndarray
    pos_score: np.ndarray
    neg: pa.Array
    neg_n: np.ndarray
    neg_score: np.ndarray
    neg_rank: np.ndarray

    @staticmethod
    def of(recs: list[Record]) -> Records:
        """The run of whole :class:`Record` s (fragments given as strings)."""

        def frags(lists):
            return _text([f.as_py() if isinstance(f, pa.Scalar) else f for xs in lists for f in xs])

        return Records(
            [r.query_id for r in recs],
            [r.query for r in recs],
            frags(r.positives for r in recs),
            np.array([len(r.positives) for r in recs], dtype=np.int64),
            np.array([s for r in recs for s in r.positive_scores], dtype=np.float64),
            frags(r.negatives for r in recs),
            np.array([len(r.negatives) for r in recs], dtype=np.int64),
            np.array([s for r in recs for s in r.negative_scores], dtype=np.float64),
            np.array([x for r in recs for x in r.negative_ranks], dtype=np.int64),
        )


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.r_[0, np.cumsum(counts)].astype(np.int64)


def _lists(values: pa.Array, counts: np.ndarray) -> pa.Array:
    """``values`` cut into one list per entry of ``counts``."""
    return pa.LargeListArray.from_arrays(pa.array(_offsets(counts), pa.int64()), values)


def _joined(values: pa.Array, counts: np.ndarray, sep: str = ", ") -> pa.Array:
    """One string per entry of ``counts``: its ``values`` joined by ``sep``."""
    return pc.binary_join(_lists(values.cast(pa.large_string()), counts), pa.scalar(sep, pa.large_string()))


def _concat(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and constant strings."""
    big = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p.cast(pa.large_string()) for p in parts]
    return pc.binary_join_element_wise(*big, pa.scalar("", pa.large_string()))


def _closing(counts: np.ndarray) -> pa.Array:
    """``}`` where a list has items, else nothing (it closes the list's last object)."""
    return pa.array(np.where(counts > 0, "}", ""), pa.large_string())


def _score_strings(scores: np.ndarray) -> pa.Array:
    return pa.array([json.dumps(round(s, 6)) for s in scores.tolist()], pa.large_string())


def _rounded(scores: np.ndarray) -> pa.Array:
    return pa.array([round(s, 6) for s in scores.tolist()], pa.float64())


def _text(values) -> pa.Array:
    """Strings (a list or an Arrow array) as an Arrow large_string array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.large_string())
    return pa.array(values, pa.large_string())


def _json_strings(values) -> pa.Array:
    """The JSON literal of each string, as ``json.dumps(s, ensure_ascii=False)`` writes it:
    quoted in Arrow, and escaped by the json module only where a string holds a quote, a
    backslash or a control character."""
    arr = _text(values)
    quoted = _concat('"', arr, '"')
    needs = pc.match_substring_regex(arr, r'[\x00-\x1f"\\]')
    if not pc.any(needs).as_py():
        return quoted
    escaped = [_jstr(t) for t in arr.filter(needs).to_pylist()]
    return pc.replace_with_mask(quoted, needs, pa.array(escaped, pa.large_string()))


def _passage_texts(titles, texts) -> pa.Array:
    """``passage_text`` of each (title, text), in Arrow."""
    cols = [_text(titles).cast(pa.string()), _text(texts).cast(pa.string())]
    return joined_text(pa.record_batch(cols, names=["title", "text"]))


def _within(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, position within owner) of every item, for items counted per owner."""
    owner = np.repeat(np.arange(len(counts)), counts)
    return owner, np.arange(len(owner)) - np.repeat(_offsets(counts)[:-1], counts)


class Writer:
    """Base: an atomic output file; ``rows`` counts the rows written."""

    def __init__(self, path, num_negatives: int, with_scores: bool, columns=("anchor", "positive")):
        self.n, self.with_scores, self.columns = num_negatives, with_scores, tuple(columns)
        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self.rows = 0
        self._open()

    def _open(self) -> None:
        self._fh = BackgroundFile(self._tmp)  # written while the next run is built

    def _close_file(self) -> None:
        self._fh.close()

    @staticmethod
    def fragments(docids, titles, texts) -> pa.Array:
        """Per passage (lists or Arrow arrays of its fields), what every record that
        mentions it shares (escaped once)."""
        raise NotImplementedError

    def add_run(self, run: Records) -> None:
        """Write a run of queries."""
        raise NotImplementedError

    def add(self, rec: Record) -> None:
        """Write one query (a run of one)."""
        self.add_run(Records.of([rec]))

    def close(self) -> None:
        self._close_file()
        self._ctx.__exit__(None, None, None)

    def abort(self, exc) -> None:
        with contextlib.suppress(Exception):  # a failed write: ``exc`` is the error to report
            self._close_file()
        self._ctx.__exit__(type(exc), exc, None)

    def _lines(self, lines: pa.Array) -> None:
        """Write a string array's values back to back (each ends in a newline), straight
        from its Arrow buffer."""
        if not len(lines):
            return
        lines = lines.cast(pa.large_string())
        if lines.null_count:
            raise ValueError("a null output line")  # a null input field: never silently dropped
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
        self._fh.write(memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]])  # the view keeps the array
        self.rows += len(lines)


class TevatronWriter(Writer):
    """JSON lines: ``query_id``, ``query``, ``positive_passages``, ``negative_passages``."""

    @staticmethod
    def fragments(docids, titles, texts):
        j = _json_strings
        return _concat('{"docid": ', j(docids), ', "title": ', j(titles), ', "text": ', j(texts))

    def add_run(self, r: Records) -> None:
        pos, neg = _text(r.pos), _text(r.neg)
        if self.with_scores:
            pos = _concat(pos, ', "score": ', _score_strings(r.pos_score), "}")
            ranks = pa.array([str(x) for x in r.neg_rank.tolist()], pa.large_string())
            neg = _concat(neg, ', "score": ', _score_strings(r.neg_score), ', "rank": ', ranks, "}")
            pos, pos_end, neg, neg_end = _joined(pos, r.pos_n), "", _joined(neg, r.neg_n), ""
        else:  # each passage closed by the separator, the last by its own "}": one pass less
            pos, pos_end = _joined(pos, r.pos_n, "}, "), _closing(r.pos_n)
            neg, neg_end = _joined(neg, r.neg_n, "}, "), _closing(r.neg_n)
        self._lines(
            _concat(
                '{"query_id": ',
                _json_strings(r.query_id),
                ', "query": ',
                _json_strings(r.query),
                ', "positive_passages": [',
                pos,
                pos_end,
                '], "negative_passages": [',
                neg,
                neg_end,
                "]}\n",
            )
        )


class FlagEmbeddingWriter(Writer):
    """JSON lines: ``query``, ``pos``, ``neg`` (lists of passage texts)."""

    @staticmethod
    def fragments(docids, titles, texts):
        return _json_strings(_passage_texts(titles, texts))

    def add_run(self, r: Records) -> None:
        parts = [
            '{"query": ',
            _json_strings(r.query),
            ', "pos": [',
            _joined(_text(r.pos), r.pos_n),
            '], "neg": [',
            _joined(_text(r.neg), r.neg_n),
            "]",
        ]
        if self.with_scores:
            parts += [
                ', "pos_scores": [',
                _joined(_score_strings(r.pos_score), r.pos_n),
                '], "neg_scores": [',
                _joined(_score_strings(r.neg_score), r.neg_n),
                "]",
            ]
        self._lines(_concat(*parts, "}\n"))


class _ParquetWriter(Writer):
    """Base of the parquet formats: the columns of ``_fields()``, one table per run of
    queries. Passages are their embedded text (``passage_text``)."""

    def _fields(self) -> list:
        raise NotImplementedError

    def _open(self) -> None:
        self._schema = pa.schema(self._fields())
        self._pq = pq.ParquetWriter(self._tmp, self._schema)

    def _close_file(self) -> None:
        self._pq.close()

    @staticmethod
    def fragments(docids, titles, texts):
        return _passage_texts(titles, texts)

    def _columns(self, r: Records) -> list:
        raise NotImplementedError

    def add_run(self, r: Records) -> None:
        cols = self._columns(r)
        if len(cols[0]):
            t = pa.table([c.cast(f.type) for c, f in zip(cols, self._schema, strict=True)], schema=self._schema)
            self._pq.write_table(t)
            self.rows += t.num_rows


class TripletWriter(_ParquetWriter):
    """sentence-transformers' ``triplet``: ``ANCHOR``, ``POSITIVE``, ``negative`` (strings),
    one row per (positive, negative); ``scores`` ``[positive, negative]``."""

    def _fields(self):
        a, p = self.columns
        return [(a, pa.string()), (p, pa.string()), ("negative", pa.string())] + (
            [("scores", pa.list_(pa.float64()))] if self.with_scores else []
        )

    def _columns(self, r: Records) -> list:
        owner, k = _within(r.pos_n * r.neg_n)
        n_neg = r.neg_n[owner]
        pos_i = _offsets(r.pos_n)[owner] + k // np.maximum(n_neg, 1)
        neg_i = _offsets(r.neg_n)[owner] + k % np.maximum(n_neg, 1)
        cols = [_text(r.query).take(owner), _text(r.pos).take(pos_i), _text(r.neg).take(neg_i)]
        if self.with_scores:
            pair = np.column_stack([r.pos_score[pos_i], r.neg_score[neg_i]]).ravel()
            cols.append(_lists(_rounded(pair), np.full(len(owner), 2)))
        return cols


class LabeledPairWriter(_ParquetWriter):
    """sentence-transformers' ``labeled-pair``: ``ANCHOR``, ``POSITIVE`` (a positive or a
    negative) and ``label`` (1 or 0, int64), or with scores ``score`` (float64) instead;
    each query's positives first, then its negatives."""

    def _fields(self):
        a, p = self.columns
        last = ("score", pa.float64()) if self.with_scores else ("label", pa.int64())
        return [(a, pa.string()), (p, pa.string()), last]

    def _columns(self, r: Records) -> list:
        owner = np.r_[np.repeat(np.arange(len(r.pos_n)), r.pos_n), np.repeat(np.arange(len(r.neg_n)), r.neg_n)]
        is_pos = np.r_[np.ones(len(r.pos_score), bool), np.zeros(len(r.neg_score), bool)]
        order = np.lexsort((~is_pos, owner))  # stable: each query's positives, then its negatives
        owner, is_pos = owner[order], is_pos[order]
        text = pa.concat_arrays([_text(r.pos), _text(r.neg)]).take(order)
        if self.with_scores:
            last = _rounded(np.r_[r.pos_score, r.neg_score][order])
        else:
            last = pa.array(is_pos.astype(np.int64))
        return [_text(r.query).take(owner), text, last]


def _per_positive(r: Records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the one-row-per-positive shapes: each positive's query; and, per positive, the
    positions of its query's negatives with their counts."""
    owner = np.repeat(np.arange(len(r.pos_n)), r.pos_n)
    counts = r.neg_n[owner]
    row, k = _within(counts)
    return owner, _offsets(r.neg_n)[owner][row] + k, counts


class LabeledListWriter(_ParquetWriter):
    """sentence-transformers' ``labeled-list``: ``ANCHOR`` (string), ``POSITIVE`` (list: the
    positive, then the negatives) and ``labels`` (``[1, 0, ...]``, int64), or with scores
    ``scores`` (float64) instead; one row per positive."""

    def _fields(self):
        a, p = self.columns
        last = ("scores", pa.list_(pa.float64())) if self.with_scores else ("labels", pa.list_(pa.int64()))
        return [(a, pa.string()), (p, pa.list_(pa.string())), last]

    def _columns(self, r: Records) -> list:
        owner, negs, counts = _per_positive(r)
        # each row: its positive, then its query's negatives
        row = np.r_[np.arange(len(owner)), np.repeat(np.arange(len(owner)), counts)]
        first = np.r_[np.ones(len(owner), bool), np.zeros(len(negs), bool)]
        order = np.lexsort((~first, row))
        frag = np.r_[np.arange(len(owner)), len(owner) + negs][order]
        texts = _lists(pa.concat_arrays([_text(r.pos), _text(r.neg)]).take(frag), counts + 1)
        if self.with_scores:
            last = _lists(_rounded(np.r_[r.pos_score, r.neg_score[negs]][order]), counts + 1)
        else:
            last = _lists(pa.array(first[order].astype(np.int64)), counts + 1)
        return [_text(r.query).take(owner), texts, last]


class NTupleWriter(_ParquetWriter):
    """sentence-transformers' ``n-tuple``: ``ANCHOR``, ``POSITIVE``, ``negative_1..n``
    (strings), one row per positive; ``scores`` ``[positive, negative_1, ...]``. The miner
    passes only queries with a full set of negatives in this format."""

    def _fields(self):
        a, p = self.columns
        names = [a, p] + [f"negative_{i}" for i in range(1, self.n + 1)]
        return [(c, pa.string()) for c in names] + ([("scores", pa.list_(pa.float64()))] if self.with_scores else [])

    def _columns(self, r: Records) -> list:
        owner, negs, counts = _per_positive(r)
        if len(owner) and not (counts == self.n).all():
            raise ValueError(f"n-tuple rows need exactly {self.n} negatives")
        negs = negs.reshape(len(owner), self.n)
        neg = _text(r.neg)
        cols = [_text(r.query).take(owner), _text(r.pos)]
        cols += [neg.take(negs[:, i]) for i in range(self.n)]
        if self.with_scores:
            table = np.column_stack([r.pos_score, r.neg_score[negs]]) if len(owner) else np.zeros((0, self.n + 1))
            cols.append(_lists(_rounded(table.ravel()), np.full(len(owner), self.n + 1)))
        return cols
