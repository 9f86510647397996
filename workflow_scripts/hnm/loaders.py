"""One streaming loader per raw format: ``pairs``, ``medmcqa`` and ``beir``.

Loaders yield plain Python records and never hold a whole file in memory. Bad rows go
through :class:`BadRows`, which raises an :class:`InputError` naming the file and the
1-based line, or (when ``max_bad_rows`` allows) counts and skips them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .io import InputError


@dataclass
class BadRows:
    """Counts skipped rows by reason, and fails once more than ``cap`` are skipped."""

    cap: int = 0
    counts: Counter = field(default_factory=Counter)
    examples: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, reason: str, where: str, message: str) -> None:
        self.counts[reason] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{where}: {message}")
        if self.total > self.cap:
            if self.cap == 0:
                raise InputError(f"{where}: {message} (set max_bad_rows to skip and count such rows)")
            raise InputError(
                f"{where}: {message}; more than max_bad_rows={self.cap} bad rows ({dict(self.counts)}), giving up"
            )


@dataclass
class PairRow:
    """One training row: a query and its positive passages (title, text)."""

    index: int  # 0-based row/line index in the raw file, used for the query id
    query: str
    positives: list[tuple[str, str]]


def _is_blank(s) -> bool:
    return not isinstance(s, str) or not s.strip()


def open_text_lines(path: str | Path, progress=None) -> Iterator[tuple[int, bytes]]:
    """Yield (1-based line number, raw bytes) of a .jsonl or .jsonl.gz file.

    A truncated or corrupt gzip raises InputError naming the file and the last good line.
    ``progress`` (an ``io.Progress``) is told the line count and the share of the
    (compressed) file read so far, for an ETA.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    lineno = 0
    try:
        with open(path, "rb") as raw_fh:
            size = max(1, os.fstat(raw_fh.fileno()).st_size)
            fh = gzip.GzipFile(fileobj=raw_fh, mode="rb") if path.name.endswith(".gz") else raw_fh
            for lineno, raw in enumerate(fh, start=1):  # noqa: B007
                if progress is not None and lineno % 16384 == 0:
                    progress.update(lineno, fraction=min(1.0, raw_fh.tell() / size))
                yield lineno, raw
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise InputError(
            f"{path}: truncated or corrupt gzip after line {lineno} ({type(exc).__name__}: {exc})"
        ) from None


def _decode_json(raw: bytes, where: str, bad: BadRows):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad.add("not_utf8", where, f"line is not valid UTF-8 ({exc.reason} at byte {exc.start})")
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        bad.add("malformed_json", where, f"malformed JSON ({exc.msg} at column {exc.colno})")
        return None


def parse_pair_value(value, where: str, bad: BadRows, dropped: Counter) -> tuple[str, list[str]] | None:
    """Apply the seed's three line shapes to one decoded JSON value.

    - ``[query, positive]`` (exactly two strings);
    - ``{"query": q, "pos": [...]}`` (blank positives removed);
    - ``{"set": [q, p1, ...]}`` (fewer than two items: skipped, counted).
    Returns (query, positives) or None for a row that is skipped.
    """
    if isinstance(value, list):
        if len(value) != 2 or not all(isinstance(v, str) for v in value):
            bad.add("unknown_shape", where, f"a list line must hold exactly 2 strings, got {_describe(value)}")
            return None
        query, positives = value[0], [value[1]]
    elif isinstance(value, dict) and "set" in value:
        items = value["set"]
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            bad.add("unknown_shape", where, "'set' must be a list of strings")
            return None
        if len(items) < 2:
            dropped["set_too_short"] += 1
            return None
        query, positives = items[0], items[1:]
    elif isinstance(value, dict) and "query" in value and "pos" in value:
        query, pos = value["query"], value["pos"]
        if isinstance(pos, str):
            pos = [pos]
        if not isinstance(query, str) or not isinstance(pos, list) or not all(isinstance(p, str) for p in pos):
            bad.add("unknown_shape", where, "'query' must be a string and 'pos' a list of strings")
            return None
        positives = pos
    else:
        bad.add(
            "unknown_shape",
            where,
            f"unknown line shape {_describe(value)}; expected [query, positive], "
            '{"query": ..., "pos": [...]} or {"set": [...]}',
        )
        return None
    bad_text = next((t for t in (query, *positives) if not _encodable(t)), None)
    if bad_text is not None:
        bad.add("undecodable_text", where, f"text is not encodable as UTF-8 (lone surrogate?): {bad_text[:40]!r}")
        return None
    # Degenerate rows are data, not errors: dropped and counted by reason (see README,
    # "What we keep and what we fix"), never counted towards max_bad_rows.
    if _is_blank(query):
        dropped["empty_query" if query == "" else "blank_query"] += 1
        return None
    n_blank = sum(1 for p in positives if _is_blank(p))
    if n_blank:
        positives = [p for p in positives if not _is_blank(p)]
        if not positives:
            dropped["no_positive"] += 1
            return None
        dropped["blank_positive_removed"] += n_blank
    if not positives:
        dropped["no_positive"] += 1
        return None
    return query, positives


def _encodable(text: str) -> bool:
    """False for strings that cannot be written as UTF-8 (lone surrogates from ``\\ud83d``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _describe(value) -> str:
    if isinstance(value, dict):
        return "object with keys " + ",".join(sorted(map(str, value))[:6])
    if isinstance(value, list):
        return f"list of {len(value)} item(s)"
    return type(value).__name__


def iter_pairs(path, bad: BadRows, dropped: Counter, max_rows: int | None = None, progress=None) -> Iterator[PairRow]:
    """Stream a sentence-transformers pair file (``NAME.jsonl[.gz]``)."""
    for lineno, raw in open_text_lines(path, progress):
        index = lineno - 1
        if max_rows is not None and index >= max_rows:
            break
        dropped["rows_read"] += 1
        if not raw.strip():
            dropped["blank_line"] += 1
            continue
        where = f"{path}:{lineno}"
        value = _decode_json(raw, where, bad)
        if value is None:
            continue
        parsed = parse_pair_value(value, where, bad, dropped)
        if parsed is None:
            continue
        query, positives = parsed
        yield PairRow(index, query, [("", p) for p in positives])


MEDMCQA_COLUMNS = ("question", "exp")


def iter_medmcqa(path, bad: BadRows, dropped: Counter, max_rows: int | None = None, progress=None) -> Iterator[PairRow]:
    """Stream medmcqa's train parquet: query = ``question``, positive = ``exp``.

    Rows with an empty or missing explanation are dropped and counted (about 12% of
    the train split), as the original recipe intended.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a readable parquet file ({exc})") from None
    missing = [c for c in MEDMCQA_COLUMNS if c not in pf.schema_arrow.names]
    if missing:
        raise InputError(
            f"{path}: parquet is missing column(s) {', '.join(missing)} "
            f"(medmcqa needs {', '.join(MEDMCQA_COLUMNS)}; found {', '.join(pf.schema_arrow.names)})"
        )
    index = 0
    try:
        for batch in pf.iter_batches(batch_size=8192, columns=list(MEDMCQA_COLUMNS)):
            for question, exp in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
                if max_rows is not None and index >= max_rows:
                    return
                dropped["rows_read"] += 1
                where = f"{path}: row {index + 1}"
                if not (_encodable(question or "") and _encodable(exp or "")):
                    bad.add("undecodable_text", where, "text is not encodable as UTF-8")
                elif _is_blank(question):
                    dropped["empty_query"] += 1
                elif _is_blank(exp):
                    dropped["empty_exp"] += 1
                else:
                    yield PairRow(index, question, [("", exp)])
                index += 1
            if progress is not None:
                progress.update(index, fraction=index / max(1, pf.metadata.num_rows))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: corrupt parquet after row {index} ({exc})") from None


# ---------------------------------------------------------------------------- BEIR


class BeirSource:
    """A BeIR dataset: a ``.zip`` as published, or an unpacked folder."""

    MEMBERS = ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv")

    def __init__(self, path, qrels_split: str = "train"):
        self.path = Path(path)
        self.split = qrels_split
        self.dropped: Counter = Counter()  # degenerate rows, by reason (not bad rows)
        if not self.path.exists():
            raise InputError(f"{self.path}: not found")
        self.is_zip = self.path.is_file()
        wanted = ("corpus.jsonl", "queries.jsonl", f"qrels/{qrels_split}.tsv")
        if self.is_zip:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except zipfile.BadZipFile as exc:
                raise InputError(f"{self.path}: not a readable zip file ({exc})") from None
            names = self._zip.namelist()
            self.members = {}
            for w in wanted:
                hits = sorted(n for n in names if n == w or n.endswith("/" + w))
                if not hits:
                    raise InputError(f"{self.path}: zip has no {w} (BeIR layout needs {', '.join(wanted)})")
                self.members[w] = hits[0]
        else:
            self.members = {}
            for w in wanted:
                p = self.path / w
                if not p.is_file():
                    raise InputError(f"{self.path}: folder has no {w} (BeIR layout needs {', '.join(wanted)})")
                self.members[w] = p

    def label(self, member: str) -> str:
        return f"{self.path}!{self.members[member]}" if self.is_zip else str(self.members[member])

    def _open(self, member: str):
        if self.is_zip:
            return self._zip.open(self.members[member])
        return open(self.members[member], "rb")

    def iter_jsonl(self, member: str, bad: BadRows, progress=None) -> Iterator[tuple[str, dict]]:
        label = self.label(member)
        lineno = 0
        try:
            with self._open(member) as fh:
                for lineno, raw in enumerate(fh, start=1):  # noqa: B007
                    if progress is not None and lineno % 16384 == 0:
                        progress.update(lineno)
                    if not raw.strip():
                        self.dropped["blank_line"] += 1
                        continue
                    where = f"{label}:{lineno}"
                    obj = _decode_json(raw, where, bad)
                    if obj is None:
                        continue
                    if not isinstance(obj, dict) or not isinstance(obj.get("_id"), str | int):
                        bad.add("unknown_shape", where, 'expected an object with "_id"')
                        continue
                    yield where, obj
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise InputError(f"{label}: corrupt data after line {lineno} ({exc})") from None

    def iter_corpus(self, bad: BadRows, progress=None) -> Iterator[tuple[str, str, str, str]]:
        """Yield (where, docid, title, text)."""
        for where, obj in self.iter_jsonl("corpus.jsonl", bad, progress):
            title, text = obj.get("title") or "", obj.get("text") or ""
            if not isinstance(title, str) or not isinstance(text, str):
                bad.add("unknown_shape", where, '"title" and "text" must be strings')
                continue
            if not (_encodable(title) and _encodable(text)):
                bad.add("undecodable_text", where, "text is not encodable as UTF-8 (lone surrogate?)")
                continue
            if not (title.strip() or text.strip()):
                self.dropped["empty_passage"] += 1
                continue
            yield where, str(obj["_id"]), title, text

    def iter_queries(self, bad: BadRows) -> Iterator[tuple[str, str, str]]:
        """Yield (where, query_id, text)."""
        for where, obj in self.iter_jsonl("queries.jsonl", bad):
            text = obj.get("text")
            if isinstance(text, str) and not _encodable(text):
                bad.add("undecodable_text", where, "text is not encodable as UTF-8 (lone surrogate?)")
                continue
            if _is_blank(text):
                self.dropped["empty_query"] += 1
                continue
            yield where, str(obj["_id"]), text

    def iter_qrels(self, bad: BadRows) -> Iterator[tuple[str, str, str]]:
        """Yield (where, query_id, corpus_id) from the qrels TSV, read by column name."""
        member = f"qrels/{self.split}.tsv"
        label = self.label(member)
        with self._open(member) as fh:
            reader = csv.reader(io.TextIOWrapper(fh, encoding="utf-8", newline=""), delimiter="\t")
            header = next(reader, None)
            need = ("query-id", "corpus-id")
            if header is None or any(c not in header for c in need):
                raise InputError(f"{label}:1: qrels header must name columns {', '.join(need)}, got {header}")
            qi, ci = header.index("query-id"), header.index("corpus-id")
            for lineno, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) <= max(qi, ci):
                    bad.add("malformed_qrel", f"{label}:{lineno}", f"expected {len(header)} columns, got {len(row)}")
                    continue
                yield f"{label}:{lineno}", row[qi], row[ci]
