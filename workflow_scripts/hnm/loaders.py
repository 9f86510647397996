"""One streaming loader per raw format: ``pairs``, ``medmcqa`` and ``beir``.

Loaders yield plain Python records and never hold a whole file in memory. Bad rows go
through :class:`BadRows`, which raises an :class:`InputError` naming the file and the
1-based line, or (when ``max_bad_rows`` allows) counts and skips them.
"""

from __future__ import annotations

import gzip
import json
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .io import InputError, describe_error


@dataclass
class BadRows:
    """Counts skipped rows by reason, and fails once more than ``cap`` are skipped."""

    cap: int = 0
    counts: Counter = field(default_factory=Counter)
    examples: list = field(default_factory=list)
    by_file: Counter = field(default_factory=Counter)  # bad rows per input file (its label)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, reason: str, where: str, message: str, *, file: str) -> None:
        """Count one bad row of ``file`` at ``where`` (``FILE:LINE`` or ``FILE: row N``)."""
        self.counts[reason] += 1
        self.by_file[file] += 1
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
        raise InputError(f"{path}: truncated or corrupt gzip after line {lineno} ({describe_error(exc)})") from None


def _decode_json(raw: bytes, where: str, bad: BadRows, file: str, first_line: bool = False):
    """One line's JSON value, or None after counting it as a bad row.

    A UTF-8 byte order mark is accepted at the start of a file's first line only.
    """
    if first_line and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad.add("not_utf8", where, f"line is not valid UTF-8 ({exc.reason} at byte {exc.start})", file=file)
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        bad.add("malformed_json", where, f"malformed JSON ({exc.msg} at column {exc.colno})", file=file)
    except RecursionError:
        bad.add("malformed_json", where, "malformed JSON (nested too deeply to parse)", file=file)
    except ValueError as exc:  # e.g. an integer literal longer than Python's int_max_str_digits
        bad.add("malformed_json", where, f"malformed JSON ({describe_error(exc, 120)})", file=file)
    return None


def parse_pair_value(value, where: str, bad: BadRows, dropped: Counter, file: str) -> tuple[str, list[str]] | None:
    """Apply the seed's three line shapes to one decoded JSON value.

    - ``[query, positive]`` (exactly two strings);
    - ``{"query": q, "pos": [...]}`` (blank positives removed);
    - ``{"set": [q, p1, ...]}`` (fewer than two items: skipped, counted).
    Returns (query, positives) or None for a row that is skipped.
    """
    if isinstance(value, list):
        if len(value) != 2 or not all(isinstance(v, str) for v in value):
            bad.add(
                "unknown_shape", where, f"a list line must hold exactly 2 strings, got {_describe(value)}", file=file
            )
            return None
        query, positives = value[0], [value[1]]
    elif isinstance(value, dict) and "set" in value:
        items = value["set"]
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            bad.add("unknown_shape", where, "'set' must be a list of strings", file=file)
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
            bad.add("unknown_shape", where, "'query' must be a string and 'pos' a list of strings", file=file)
            return None
        positives = pos
    else:
        bad.add(
            "unknown_shape",
            where,
            f"unknown line shape {_describe(value)}; expected [query, positive], "
            '{"query": ..., "pos": [...]} or {"set": [...]}',
            file=file,
        )
        return None
    bad_text = next((t for t in (query, *positives) if not _encodable(t)), None)
    if bad_text is not None:
        bad.add(
            "undecodable_text", where, f"text is not encodable as UTF-8 (lone surrogate?): {bad_text[:40]!r}", file=file
        )
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
        # repr() escapes what a log file cannot hold (lone surrogates, control characters)
        return "object with keys " + ",".join(repr(k)[1:-1][:40] for k in sorted(map(str, value))[:6])
    if isinstance(value, list):
        return f"list of {len(value)} item(s)"
    return type(value).__name__


def iter_pairs(path, bad: BadRows, dropped: Counter, max_rows: int | None = None, progress=None) -> Iterator[PairRow]:
    """Stream a sentence-transformers pair file (``NAME.jsonl[.gz]``)."""
    file = str(path)
    for lineno, raw in open_text_lines(path, progress):
        index = lineno - 1
        if max_rows is not None and index >= max_rows:
            break
        dropped["rows_read"] += 1
        if not raw.strip():
            dropped["blank_line"] += 1
            continue
        where = f"{path}:{lineno}"
        value = _decode_json(raw, where, bad, file, first_line=lineno == 1)
        if value is None:
            continue
        parsed = parse_pair_value(value, where, bad, dropped, file)
        if parsed is None:
            continue
        query, positives = parsed
        yield PairRow(index, query, [("", p) for p in positives])


MEDMCQA_COLUMNS = ("question", "exp")


def _parquet_errors():
    """Arrow's errors and the OS errors of a damaged file; anything else from pyarrow is a bug."""
    import pyarrow as pa

    return (pa.ArrowException, OSError, EOFError)


def _check_text_column(path, schema, name: str) -> None:
    """medmcqa's text columns must hold strings (an all-null column reads as empty)."""
    import pyarrow as pa

    typ = schema.field(name).type
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_null(typ)):
        raise InputError(f"{path}: column {name!r} must hold strings, found type {typ}")


def iter_medmcqa(path, bad: BadRows, dropped: Counter, max_rows: int | None = None, progress=None) -> Iterator[PairRow]:
    """Stream medmcqa's train parquet: query = ``question``, positive = ``exp``.

    Rows with an empty or missing explanation are dropped and counted (about 12% of
    the train split), as the original recipe intended.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except _parquet_errors() as exc:
        raise InputError(f"{path}: not a readable parquet file ({describe_error(exc)})") from None
    missing = [c for c in MEDMCQA_COLUMNS if c not in schema.names]
    if missing:
        raise InputError(
            f"{path}: parquet is missing column(s) {', '.join(missing)} "
            f"(medmcqa needs {', '.join(MEDMCQA_COLUMNS)}; found {', '.join(schema.names)})"
        )
    for name in MEDMCQA_COLUMNS:
        _check_text_column(path, schema, name)
    index = 0
    try:
        for batch in pf.iter_batches(batch_size=8192, columns=list(MEDMCQA_COLUMNS)):
            for question, exp in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
                if max_rows is not None and index >= max_rows:
                    return
                dropped["rows_read"] += 1
                where = f"{path}: row {index + 1}"
                if not (_encodable(question or "") and _encodable(exp or "")):
                    bad.add("undecodable_text", where, "text is not encodable as UTF-8", file=file)
                elif _is_blank(question):
                    dropped["empty_query"] += 1
                elif _is_blank(exp):
                    dropped["empty_exp"] += 1
                else:
                    yield PairRow(index, question, [("", exp)])
                index += 1
            if progress is not None:
                progress.update(index, fraction=index / max(1, pf.metadata.num_rows))
    except _parquet_errors() as exc:
        raise InputError(f"{path}: corrupt parquet after row {index} ({describe_error(exc)})") from None


# ---------------------------------------------------------------------------- BEIR

# What a damaged zip member raises while it is opened or read.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, ValueError)


class BeirSource:
    """A BeIR dataset: a ``.zip`` as published, or an unpacked folder.

    ``lines[member]`` and ``blank[member]`` count each member's lines read and blank
    lines skipped, for prepare's per-file accounting.
    """

    MEMBERS = ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv")

    def __init__(self, path, qrels_split: str = "train"):
        self.path = Path(path)
        self.split = qrels_split
        self.dropped: Counter = Counter()  # degenerate rows, by reason (not bad rows)
        self.lines: Counter = Counter()
        self.blank: Counter = Counter()
        if not self.path.exists():
            raise InputError(f"{self.path}: not found")
        self.is_zip = self.path.is_file()
        wanted = ("corpus.jsonl", "queries.jsonl", f"qrels/{qrels_split}.tsv")
        if self.is_zip:
            try:
                self._zip = zipfile.ZipFile(self.path)
                names = self._zip.namelist()
            except _ZIP_ERRORS as exc:
                raise InputError(f"{self.path}: not a readable zip file ({describe_error(exc)})") from None
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

    def _iter_lines(self, member: str, progress=None) -> Iterator[tuple[int, bytes]]:
        """(1-based line number, raw bytes) of one member; blank lines are counted and skipped.
        A damaged member raises InputError naming it and the last good line."""
        label = self.label(member)
        lineno = 0
        try:
            with self._open(member) as fh:
                for lineno, raw in enumerate(fh, start=1):  # noqa: B007
                    self.lines[member] += 1
                    if progress is not None and lineno % 16384 == 0:
                        progress.update(lineno)
                    if not raw.strip():
                        self.blank[member] += 1
                        continue
                    yield lineno, raw
        except _ZIP_ERRORS as exc:
            raise InputError(f"{label}: corrupt data after line {lineno} ({describe_error(exc)})") from None

    def iter_jsonl(self, member: str, bad: BadRows, progress=None) -> Iterator[tuple[str, dict]]:
        label = self.label(member)
        for lineno, raw in self._iter_lines(member, progress):
            where = f"{label}:{lineno}"
            obj = _decode_json(raw, where, bad, label, first_line=lineno == 1)
            if obj is None:
                continue
            _id = obj.get("_id") if isinstance(obj, dict) else None
            if isinstance(_id, bool) or not isinstance(_id, str | int) or _id == "":
                bad.add("unknown_shape", where, 'expected an object with a string or integer "_id"', file=label)
                continue
            yield where, obj

    def iter_corpus(self, bad: BadRows, progress=None) -> Iterator[tuple[str, str, str, str]]:
        """Yield (where, docid, title, text)."""
        label = self.label("corpus.jsonl")
        for where, obj in self.iter_jsonl("corpus.jsonl", bad, progress):
            title, text = obj.get("title") or "", obj.get("text") or ""
            if not isinstance(title, str) or not isinstance(text, str):
                bad.add("unknown_shape", where, '"title" and "text" must be strings', file=label)
                continue
            if not (_encodable(title) and _encodable(text)):
                bad.add("undecodable_text", where, "text is not encodable as UTF-8 (lone surrogate?)", file=label)
                continue
            if not (title.strip() or text.strip()):
                self.dropped["empty_passage"] += 1
                continue
            yield where, str(obj["_id"]), title, text

    def iter_queries(self, bad: BadRows) -> Iterator[tuple[str, str, str]]:
        """Yield (where, query_id, text)."""
        label = self.label("queries.jsonl")
        for where, obj in self.iter_jsonl("queries.jsonl", bad):
            text = obj.get("text")
            if text is not None and not isinstance(text, str):
                bad.add("unknown_shape", where, f'"text" must be a string, got {_describe(text)}', file=label)
                continue
            if text is not None and not _encodable(text):
                bad.add("undecodable_text", where, "text is not encodable as UTF-8 (lone surrogate?)", file=label)
                continue
            if _is_blank(text):
                self.dropped["empty_query"] += 1
                continue
            yield where, str(obj["_id"]), text

    def iter_qrels(self, bad: BadRows) -> Iterator[tuple[str, str, str]]:
        """Yield (where, query_id, corpus_id) from the qrels TSV, read by column name.

        Each line is decoded and split on its own, so one bad line is one bad row."""
        member = f"qrels/{self.split}.tsv"
        label = self.label(member)
        lines = self._iter_lines(member)
        header = None
        for lineno, raw in lines:  # the first non-blank line is the header
            header = self._tsv_fields(raw)
            if header is None:
                raise InputError(f"{label}:{lineno}: qrels header is not valid UTF-8")
            break
        need = ("query-id", "corpus-id")
        if header is None or any(c not in header for c in need):
            raise InputError(f"{label}:1: qrels header must name columns {', '.join(need)}, got {header}")
        qi, ci = header.index("query-id"), header.index("corpus-id")
        for lineno, raw in lines:
            where = f"{label}:{lineno}"
            row = self._tsv_fields(raw)
            if row is None:
                bad.add("not_utf8", where, "qrels line is not valid UTF-8", file=label)
            elif len(row) <= max(qi, ci):
                bad.add("malformed_qrel", where, f"expected {len(header)} columns, got {len(row)}", file=label)
            elif not (row[qi].strip() and row[ci].strip()):
                bad.add("malformed_qrel", where, "empty query-id or corpus-id", file=label)
            elif not (_encodable(row[qi]) and _encodable(row[ci])):
                bad.add("undecodable_text", where, "id is not encodable as UTF-8", file=label)
            else:
                yield where, row[qi], row[ci]

    @staticmethod
    def _tsv_fields(raw: bytes) -> list[str] | None:
        """The tab-separated fields of one line (BeIR writes no quoting), or None if not UTF-8."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return text.lstrip("\ufeff").rstrip("\r\n").split("\t")
