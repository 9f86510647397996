"""Streaming loaders of the ``pairs`` and ``medmcqa`` formats (``beir``: hardneg.data.beir;
``table``: hardneg.data.tables), and the bad-row accounting they share.

Loaders yield plain Python records and never hold a whole file in memory. Bad rows go
through :class:`BadRows`, which raises an :class:`InputError` naming the file and the
1-based line, or (when ``max_bad_rows`` allows) counts and skips them.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..io import InputError, describe_error


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
    negatives: list[tuple[str, str]] = field(default_factory=list)  # the data's own (table format)


def is_blank(s) -> bool:
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
            if progress is not None:  # the count a short file never reached an update with
                progress.update(lineno)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise InputError(f"{path}: truncated or corrupt gzip after line {lineno} ({describe_error(exc)})") from None


BAD = object()  # what decode_json returns for a line it counted as bad (JSON null is None)


def _json_problem(exc: json.JSONDecodeError, text: str) -> str:
    """A JSON error in words; a line that ends before its value is complete is cut off."""
    body = text.rstrip("\r\n")
    if exc.pos >= len(body) or exc.msg.startswith("Unterminated string"):
        return f"malformed JSON: the line is cut off (the value is incomplete at column {len(body) + 1})"
    msg = exc.msg[: -len(" at")] if exc.msg.endswith(" at") else exc.msg
    return f"malformed JSON ({msg} at column {exc.colno})"


def decode_json(raw: bytes, where: str, bad: BadRows, file: str, first_line: bool = False):
    """One line's JSON value (``None`` for ``null``), or :data:`BAD` after counting the
    line as a bad row.

    A UTF-8 byte order mark is accepted at the start of a file's first line only.
    """
    if first_line and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad.add("not_utf8", where, f"line is not valid UTF-8 ({exc.reason} at byte {exc.start})", file=file)
        return BAD
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        bad.add("malformed_json", where, _json_problem(exc, text), file=file)
    except RecursionError:
        bad.add("malformed_json", where, "malformed JSON (nested too deeply to parse)", file=file)
    except ValueError as exc:  # e.g. an integer literal longer than Python's int_max_str_digits
        bad.add("malformed_json", where, f"malformed JSON ({describe_error(exc, 120)})", file=file)
    return BAD


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
                "unknown_shape",
                where,
                f"a list line must hold exactly 2 strings, got {describe_value(value)}",
                file=file,
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
            f"unknown line shape {describe_value(value)}; expected [query, positive], "
            '{"query": ..., "pos": [...]} or {"set": [...]}',
            file=file,
        )
        return None
    bad_text = next((t for t in (query, *positives) if not encodable(t)), None)
    if bad_text is not None:
        bad.add(
            "undecodable_text", where, f"text is not encodable as UTF-8 (lone surrogate?): {bad_text[:40]!r}", file=file
        )
        return None
    # Degenerate rows are data, not errors: dropped and counted by reason (see README,
    # "What we keep and what we fix"), never counted towards max_bad_rows.
    if is_blank(query):
        dropped["empty_query" if query == "" else "blank_query"] += 1
        return None
    n_blank = sum(1 for p in positives if is_blank(p))
    if n_blank:
        positives = [p for p in positives if not is_blank(p)]
        if not positives:
            dropped["no_positive"] += 1
            return None
        dropped["blank_positive_removed"] += n_blank
    if not positives:
        dropped["no_positive"] += 1
        return None
    return query, positives


def encodable(text: str) -> bool:
    """False for strings that cannot be written as UTF-8 (lone surrogates from ``\\ud83d``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def describe_value(value) -> str:
    if value is None:
        return "null"
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
        value = decode_json(raw, where, bad, file, first_line=lineno == 1)
        if value is BAD:
            continue
        parsed = parse_pair_value(value, where, bad, dropped, file)
        if parsed is None:
            continue
        query, positives = parsed
        yield PairRow(index, query, [("", p) for p in positives])


MEDMCQA_COLUMNS = ("question", "exp")


def _parquet_errors():
    """Arrow's errors, the OS errors of a damaged file, and invalid UTF-8 in a string
    column (raised when it is read); anything else from pyarrow is a bug."""
    import pyarrow as pa

    return (pa.ArrowException, OSError, EOFError, UnicodeDecodeError)


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
                if not (encodable(question or "") and encodable(exp or "")):
                    bad.add("undecodable_text", where, "text is not encodable as UTF-8", file=file)
                elif is_blank(question):
                    dropped["empty_query"] += 1
                elif is_blank(exp):
                    dropped["empty_exp"] += 1
                else:
                    yield PairRow(index, question, [("", exp)])
                index += 1
            if progress is not None:
                progress.update(index, fraction=index / max(1, pf.metadata.num_rows))
    except _parquet_errors() as exc:
        raise InputError(f"{path}: corrupt parquet after row {index} ({describe_error(exc)})") from None
