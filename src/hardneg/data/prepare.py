"""Prepare stage: raw data -> normalized ``queries``, ``passages`` and ``qrels`` parquet.

Tables (row order is meaningful and stable):
- queries.parquet: ``query_id`` (str), ``text`` (str), in input order;
- passages.parquet: ``docid`` (str), ``title`` (str), ``text`` (str);
- qrels.parquet: ``query_idx``, ``passage_idx`` (int64 row numbers into the two tables
  above), grouped by query in input order, positives in their input order;
- negatives.parquet: the same columns, the negatives the data gives (``table`` format's
  ``negative_columns``; empty for the other formats), in their input order. They are
  passages too, so they are embedded and searched like the positives.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..io import InputError, Progress, atomic_path, write_json
from .beir import BeirSource
from .loaders import BadRows, PairRow, iter_medmcqa, iter_pairs
from .tables import iter_table
from .texts import passage_text, table_hashes, text_hashes

if TYPE_CHECKING:
    from ..stages.prepare import PrepareJob

QUERY_SCHEMA = pa.schema([("query_id", pa.string()), ("text", pa.string())])
PASSAGE_SCHEMA = pa.schema([("docid", pa.string()), ("title", pa.string()), ("text", pa.string())])
QREL_SCHEMA = pa.schema([("query_idx", pa.int64()), ("passage_idx", pa.int64())])


class TableWriter:
    """Buffered, atomic parquet writer: rows appear at ``path`` only on ``close()``."""

    def __init__(self, path, schema: pa.Schema, batch_rows: int = 50_000):
        self.schema, self.batch_rows = schema, batch_rows
        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self._writer = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        self._cols: list[list] = [[] for _ in schema.names]
        self.rows = 0

    def append(self, *values) -> int:
        for col, v in zip(self._cols, values, strict=True):
            col.append(v)
        self.rows += 1
        if len(self._cols[0]) >= self.batch_rows:
            self._flush()
        return self.rows - 1

    def _flush(self) -> None:
        if self._cols[0]:
            self._writer.write_table(pa.table(self._cols, schema=self.schema))
            self._cols = [[] for _ in self.schema.names]

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._ctx.__exit__(None, None, None)

    def abort(self, exc) -> None:
        self._writer.close()
        self._ctx.__exit__(type(exc), exc, None)


class Tables:
    """The four output tables of one dataset, committed together or not at all."""

    def __init__(self, queries, passages, qrels, negatives):
        self.queries = TableWriter(queries, QUERY_SCHEMA)
        self.passages = TableWriter(passages, PASSAGE_SCHEMA)
        self.qrels = TableWriter(qrels, QREL_SCHEMA)
        self.negatives = TableWriter(negatives, QREL_SCHEMA)

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        for w in (self.queries, self.passages, self.qrels, self.negatives):
            if exc is None:
                w.close()
            else:
                w.abort(exc)
        return False


def _passage_keys(rows: list[PairRow]) -> list[int]:
    """A 128-bit key of each positive's, then each given negative's ``title + text`` of
    ``rows``, row by row (one ``text_hashes`` call per batch)."""
    h = text_hashes([f"{title}\x1f{text}" for row in rows for title, text in (*row.positives, *row.negatives)])
    return [(int(a) << 64) | int(b) for a, b in h.tolist()]


def build_pair_tables(rows: Iterable[PairRow], tables: Tables, batch_rows: int = 8192) -> Counter:
    """Write tables for pair-like data (``pairs``, ``medmcqa``).

    The corpus is the set of all positives and given negatives, deduplicated by exact
    ``title + text`` (first copy wins, docid = that copy's row index). Queries are not
    deduplicated; query ids are ``train-<line index>``. A given negative that is also a
    positive of its row, or given twice, is left out and counted.
    """
    seen: dict[int, int] = {}
    counts: Counter = Counter()
    rows = iter(rows)
    while batch := list(itertools.islice(rows, batch_rows)):
        keys = iter(_passage_keys(batch))
        for row in batch:
            _add_pair_row(row, keys, seen, tables, counts)
    return counts


def _add_pair_row(row: PairRow, keys, seen: dict, tables: Tables, counts: Counter) -> None:
    qidx = tables.queries.append(f"train-{row.index}", row.query)
    mine: set[int] = set()
    for title, text in row.positives:
        pidx = _passage(next(keys), title, text, seen, tables)
        if pidx in mine:
            counts["duplicate_positive_in_row"] += 1
            continue
        mine.add(pidx)
        tables.qrels.append(qidx, pidx)
    given: set[int] = set()
    for title, text in row.negatives:
        pidx = _passage(next(keys), title, text, seen, tables)
        if pidx in mine:
            counts["given_negative_is_a_positive"] += 1
        elif pidx in given:
            counts["duplicate_given_negative_in_row"] += 1
        else:
            given.add(pidx)
            tables.negatives.append(qidx, pidx)


def _passage(key: int, title: str, text: str, seen: dict, tables: Tables) -> int:
    """The passage row of ``title + text`` (by its key), written on first sight."""
    pidx = seen.get(key)
    if pidx is None:
        pidx = tables.passages.append(str(tables.passages.rows), title, text)
        seen[key] = pidx
    return pidx


def build_beir_tables(src: BeirSource, tables: Tables, bad: BadRows, logger=None) -> Counter:
    """Write tables for a BeIR dataset, mining only queries in the chosen qrels split.

    The seed encoded every query in queries.jsonl, so dev/test queries came out with no
    positives; here only queries named by the (train) qrels are kept.
    """
    counts: Counter = Counter()
    wanted: dict[str, list[str]] = {}
    for _where, qid, cid in src.iter_qrels(bad):
        counts["qrel_rows"] += 1
        docs = wanted.setdefault(qid, [])
        if cid in docs:
            counts["qrel_duplicate_rows"] += 1
        else:
            docs.append(cid)
    if not wanted:
        raise InputError(f"{src.label(f'qrels/{src.split}.tsv')}: no qrels rows")

    doc_index: dict[str, int] = {}
    progress = Progress(logger, f"{src.path}: corpus", unit="lines")
    for _where, docid, title, text in src.iter_corpus(bad, progress):
        if docid in doc_index:
            counts["duplicate_corpus_id_skipped"] += 1
            continue
        doc_index[docid] = tables.passages.append(docid, title, text)
    progress.finish()

    seen_q: set[str] = set()
    for _where, qid, text in src.iter_queries(bad):
        counts["queries_in_file"] += 1
        if qid not in wanted:
            counts["queries_not_in_qrels"] += 1
            continue
        if qid in seen_q:
            counts["duplicate_query_id_skipped"] += 1
            continue
        seen_q.add(qid)
        pidxs = []
        for cid in wanted[qid]:
            if cid in doc_index:
                pidxs.append(doc_index[cid])
            else:
                counts["qrel_missing_corpus_id"] += 1
        if not pidxs:
            counts["query_without_valid_positive"] += 1
            continue
        qidx = tables.queries.append(qid, text)
        for pidx in pidxs:
            tables.qrels.append(qidx, pidx)
    missing_q = [q for q in wanted if q not in seen_q]
    counts["qrel_missing_query_id"] += sum(len(wanted[q]) for q in missing_q)
    if tables.qrels.rows == 0:
        raise InputError(
            f"{src.path}: every qrels row names a missing corpus or query id "
            f"({counts['qrel_missing_corpus_id']} missing corpus ids, "
            f"{counts['qrel_missing_query_id']} rows with missing query ids)"
        )
    return counts


# Row-level drop reasons of pair-like files: each names a read row that wrote no query.
PAIR_ROW_DROPS = ("blank_line", "empty_query", "blank_query", "no_positive", "set_too_short", "empty_exp")


def _tally(read: int, kept: int, dropped: int, bad: int) -> dict:
    return {"read": read, "kept": kept, "dropped": dropped, "bad": bad}


def pair_accounting(raw_path, dropped: Counter, bad: BadRows, queries: int) -> dict:
    """{file: {read, kept, dropped, bad}} of a pair-like file: every row read is one of the three."""
    file = str(raw_path)
    return {file: _tally(dropped["rows_read"], queries, sum(dropped[k] for k in PAIR_ROW_DROPS), bad.by_file[file])}


def beir_accounting(src: BeirSource, counts: Counter, bad: BadRows, tables: Tables) -> dict:
    """{file: {read, kept, dropped, bad}} of a BeIR dataset's three members.

    corpus lines become passages or are dropped (blank, empty, duplicate id); query lines
    become queries or are dropped (blank, empty, not in the qrels, duplicate id, no valid
    positive); qrels rows (after the header) become qrels or are dropped (blank, duplicate,
    missing corpus id, missing or dropped query)."""
    qrels = f"qrels/{src.split}.tsv"
    members = {
        "corpus.jsonl": (
            src.lines["corpus.jsonl"],
            tables.passages.rows,
            src.blank["corpus.jsonl"] + src.dropped["empty_passage"] + counts["duplicate_corpus_id_skipped"],
        ),
        "queries.jsonl": (
            src.lines["queries.jsonl"],
            tables.queries.rows,
            src.blank["queries.jsonl"]
            + src.dropped["empty_query"]
            + counts["queries_not_in_qrels"]
            + counts["duplicate_query_id_skipped"]
            + counts["query_without_valid_positive"],
        ),
        qrels: (
            src.lines[qrels] - 1,  # the header line
            tables.qrels.rows,
            src.blank[qrels]
            + counts["qrel_duplicate_rows"]
            + counts["qrel_missing_corpus_id"]
            + counts["qrel_missing_query_id"],
        ),
    }
    return {
        src.label(m): _tally(read, kept, dropped, bad.by_file[src.label(m)])
        for m, (read, kept, dropped) in members.items()
    }


def table_accounting(files: dict, bad: BadRows) -> dict:
    """{file: {read, kept, dropped, bad}} of a table source's files."""
    return {f: _tally(t["read"], t["kept"], t["dropped"], bad.by_file[f]) for f, t in files.items()}


def check_accounting(accounting: dict) -> None:
    """Every row read is kept, dropped or bad; anything else is a bug in the loaders."""
    for file, t in accounting.items():
        if t["read"] != t["kept"] + t["dropped"] + t["bad"]:
            raise RuntimeError(f"{file}: row accounting does not add up: {t}")


def query_twins(queries_path, passages_path, batch_rows: int = 65536) -> np.ndarray:
    """For each query row, the first passage row whose embedded text (``passage_text``) is
    the query's text, else -1. Texts are compared by 128-bit hashes, one batch of rows in
    memory at a time. With equal query and passage prompts, such a query is not encoded: it
    takes its twin passage's vector (paraphrase and duplicate-question files, where most
    queries are also passages)."""

    ph = table_hashes(
        passages_path,
        ["title", "text"],
        lambda b: [passage_text(t, x) for t, x in zip(b.column(0).to_pylist(), b.column(1).to_pylist(), strict=True)],
        batch_rows,
    )
    qh = table_hashes(queries_path, ["text"], lambda b: b.column(0).to_pylist(), batch_rows)
    if not len(ph):
        return np.full(len(qh), -1, dtype=np.int64)
    order = np.argsort(ph[:, 0], kind="stable")  # among equal hashes, the first passage first
    first = np.minimum(np.searchsorted(ph[order, 0], qh[:, 0]), len(ph) - 1)
    cand = order[first]
    hit = (ph[cand, 0] == qh[:, 0]) & (ph[cand, 1] == qh[:, 1])
    return np.where(hit, cand, -1).astype(np.int64)


def write_twins(out_path, twins: np.ndarray) -> None:
    with atomic_path(out_path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, twins)


def run(inputs, outputs, job: PrepareJob, logger=None) -> dict:
    """Run the loader of the dataset's format on ``inputs.raw``; write ``outputs.queries``,
    ``passages``, ``qrels``, ``negatives`` (parquet), ``twins`` (query_twins.npy) and
    ``stats``. ``inputs.raw``: a file or folder, or (table format) a list of them."""
    fmt, raw_path, dataset, max_rows = job.format, inputs.raw, job.dataset, job.max_rows
    bad = BadRows(cap=job.max_bad_rows)
    dropped: Counter = Counter()
    progress = Progress(logger, f"{dataset}: prepare", total=max_rows, unit="rows")
    with Tables(outputs.queries, outputs.passages, outputs.qrels, outputs.negatives) as tables:
        if fmt == "table":
            files: dict = {}
            raw = list(raw_path) if isinstance(raw_path, list | tuple) else raw_path
            extra = build_pair_tables(iter_table(raw, job.columns, bad, files, max_rows, progress), tables)
            accounting = table_accounting(files, bad)
            dropped["rows_read"] = sum(t["read"] for t in files.values())
            dropped["blank_line"] += sum(t["dropped"] for t in files.values())
        elif fmt == "pairs":
            extra = build_pair_tables(iter_pairs(raw_path, bad, dropped, max_rows, progress), tables)
            accounting = pair_accounting(raw_path, dropped, bad, tables.queries.rows)
        elif fmt == "medmcqa":
            extra = build_pair_tables(iter_medmcqa(raw_path, bad, dropped, max_rows, progress), tables)
            accounting = pair_accounting(raw_path, dropped, bad, tables.queries.rows)
        elif fmt == "beir":
            src = BeirSource(raw_path, job.qrels_split)
            extra = build_beir_tables(src, tables, bad, logger)
            dropped.update(src.dropped)
            if sum(src.blank.values()):
                dropped["blank_line"] += sum(src.blank.values())
            accounting = beir_accounting(src, extra, bad, tables)
        else:
            raise InputError(f"dataset {dataset}: unknown format {fmt!r} (use pairs, medmcqa, beir or table)")
        if tables.queries.rows == 0:
            raise InputError(
                f"dataset {dataset}: {raw_path} yields no query with a positive after filtering "
                f"(dropped: {dict(dropped + bad.counts)}); refusing to write an empty dataset"
            )
        stats = {
            "dataset": dataset,
            "format": fmt,
            "source": ", ".join(map(str, raw_path)) if isinstance(raw_path, list | tuple) else str(raw_path),
            "rows_read": dropped.pop("rows_read", 0) or extra.get("queries_in_file", 0),
            "queries": tables.queries.rows,
            "passages": tables.passages.rows,
            "qrels": tables.qrels.rows,
            **({"given_negatives": tables.negatives.rows} if fmt == "table" else {}),
            "dropped": dict(sorted(dropped.items())),
            "bad_rows_skipped": dict(sorted(bad.counts.items())),
            "bad_row_examples": bad.examples,
            "details": dict(sorted(extra.items())),
            "accounting": accounting,
        }
        check_accounting(accounting)
        progress.done = stats["rows_read"]
        progress.finish()
    twins = query_twins(outputs.queries, outputs.passages)
    stats["queries_also_passages"] = int((twins >= 0).sum())
    write_twins(outputs.twins, twins)
    write_json(outputs.stats, stats)
    if logger:
        logger.info(
            "%s: %d rows read -> %d queries, %d passages, %d qrels; dropped %s; bad rows skipped %s",
            dataset,
            stats["rows_read"],
            stats["queries"],
            stats["passages"],
            stats["qrels"],
            stats["dropped"],
            stats["bad_rows_skipped"],
        )
    return stats
