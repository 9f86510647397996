"""The ``beir`` format: a BeIR dataset (corpus, queries and a qrels split), zipped or unpacked."""

from __future__ import annotations

import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from ..io import InputError, describe_error
from .loaders import BAD, BadRows, decode_json, describe_value, encodable, is_blank

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
                if progress is not None:  # the count a short file never reached an update with
                    progress.update(lineno)
        except _ZIP_ERRORS as exc:
            raise InputError(f"{label}: corrupt data after line {lineno} ({describe_error(exc)})") from None

    def iter_jsonl(self, member: str, bad: BadRows, progress=None) -> Iterator[tuple[str, dict]]:
        label = self.label(member)
        for lineno, raw in self._iter_lines(member, progress):
            where = f"{label}:{lineno}"
            obj = decode_json(raw, where, bad, label, first_line=lineno == 1)
            if obj is BAD:
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
            if not (encodable(title) and encodable(text)):
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
                bad.add("unknown_shape", where, f'"text" must be a string, got {describe_value(text)}', file=label)
                continue
            if text is not None and not encodable(text):
                bad.add("undecodable_text", where, "text is not encodable as UTF-8 (lone surrogate?)", file=label)
                continue
            if is_blank(text):
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
            elif not (encodable(row[qi]) and encodable(row[ci])):
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
