"""The ``table`` format: files with named columns (parquet, Arrow/Feather, CSV/TSV, JSON
lines), one file, a folder of them or a glob, read one record batch at a time.

Which column holds what is the dataset's :class:`TableColumns`; left out, the query is the
first column and the positive the second, as in sentence-transformers. A cell is a string,
or (positives and negatives) a list of strings; in CSV a list is written as JSON
(``["a", "b"]``). A null, empty or non-string cell makes its row a bad row
(:class:`hardneg.data.loaders.BadRows`): named with its file and row, counted and capped by
``max_bad_rows``.
"""

from __future__ import annotations

import csv
import glob
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from ..io import InputError, describe_error
from .columns import TableColumns
from .loaders import BAD, BadRows, PairRow, decode_json, encodable, is_blank, open_text_lines

# file kind of each extension (after a compression suffix is taken off)
KINDS = {
    ".parquet": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
}
COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}
BATCH_ROWS = 8192


def file_kind(path: Path) -> tuple[str | None, str | None]:
    """(kind, compression) of a file by its name; kind None: not a table file."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = COMPRESSED.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    return (KINDS.get(suffixes[-1]) if suffixes else None), compression


def table_files(source: str | Path | list) -> list[Path]:
    """The files of a table source: the file, every table file in the folder (recursively,
    sorted by path, hidden ones left out), the glob's matches, or a list of those."""
    if isinstance(source, list | tuple):
        return [f for s in source for f in table_files(s)]
    text = str(source)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise InputError(f"{text}: the glob matches no file")
    else:
        path = Path(text)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and file_kind(p)[0] is not None
            )
            if not files:
                raise InputError(f"{path}: the folder holds no table file ({', '.join(sorted(KINDS))})")
        elif path.is_file():
            files = [path]
        else:
            raise InputError(f"{path}: file not found")
    for f in files:
        if file_kind(f)[0] is None:
            known = ", ".join(sorted(KINDS))
            raise InputError(f"{f}: not a table file (known: {known}, optionally {', '.join(COMPRESSED)})")
    return files


def _arrow_errors():
    import pyarrow as pa

    return (pa.ArrowException, OSError, EOFError, UnicodeDecodeError)


def column_names(path: Path) -> list[str]:
    """The columns of a table file, read from its header (JSON lines: the first object's keys)."""
    kind, compression = file_kind(path)
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).schema_arrow.names
        if kind == "arrow":
            return _open_ipc(path).schema.names
        if kind in ("csv", "tsv"):
            return _csv_header(path, kind, compression)
    except _arrow_errors() as exc:
        raise InputError(f"{path}: not a readable {kind} file ({describe_error(exc)})") from None
    for _lineno, raw in open_text_lines(path):
        if raw.strip():
            try:
                value = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return []
            return list(value) if isinstance(value, dict) else []
    return []


def quick_row_count(path: Path, max_bytes: int = 1 << 28) -> int | None:
    """A table file's rows from its metadata (parquet, Arrow), or its lines (an
    uncompressed text file up to ``max_bytes``, header left out: a quoted newline makes it
    an over-count); None where that would mean reading more."""
    kind, compression = file_kind(path)
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if kind == "arrow":
            reader = _open_ipc(path)
            return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    except (*_arrow_errors(), AttributeError):
        return None
    if compression or path.stat().st_size > max_bytes:
        return None
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            lines, last = lines + chunk.count(b"\n"), chunk[-1:]
    return lines + (last != b"\n") - (kind in ("csv", "tsv"))


def _open_ipc(path: Path):
    import pyarrow as pa
    import pyarrow.ipc as ipc

    source = pa.memory_map(str(path))
    try:
        return ipc.open_file(source)
    except pa.ArrowInvalid:
        return ipc.open_stream(pa.memory_map(str(path)))


def _csv_header(path: Path, kind: str, compression: str | None) -> list[str]:
    import pyarrow as pa

    head = b""
    with pa.input_stream(str(path), compression=compression) as raw:
        while b"\n" not in head and (chunk := raw.read(1 << 16)):
            head += chunk
    # the whole chunk, so that a quoted newline in a header cell stays in its cell
    rows = csv.reader(
        io.StringIO(head.decode("utf-8-sig", "replace"), newline=""), delimiter="\t" if kind == "tsv" else ","
    )
    try:
        return next(rows, [])
    except csv.Error as exc:
        raise InputError(f"{path}: unreadable {kind} header ({exc})") from None


END = "\x00hardneg: end of file\x00"  # a record after the file's last: swallowed by an open quote


def check_csv_records(path: Path, kind: str, compression, bad: BadRows) -> list[str]:
    """Read a CSV/TSV file's records once with Python's ``csv`` (which counts lines):
    a record with another field count than the header is a bad row named by its line
    (counted and capped, and returned, so that the columnar read skips exactly those); a
    quoted field still open at the end of the file (a file cut off) fails, naming the
    line where it opened."""
    import itertools

    import pyarrow as pa

    where, start, n_fields, skipped = f"{path}:1", 1, None, []
    try:
        with pa.input_stream(str(path), compression=compression) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            lines = itertools.chain(text, ["\n", END + "\n"])
            reader = csv.reader(lines, delimiter="\t" if kind == "tsv" else ",")
            for record in reader:
                where = f"{path}:{start}"
                start = reader.line_num + 1
                if record == [END]:
                    return skipped
                if not record:
                    continue
                if n_fields is None:
                    n_fields = len(record)
                elif len(record) != n_fields:
                    skipped.append(where)
                    bad.add(
                        "unbalanced_row",
                        where,
                        f"{len(record)} field(s) where the header has {n_fields}",
                        file=str(path),
                    )
    except (csv.Error, *_arrow_errors()) as exc:
        raise InputError(f"{path}:{start}: unreadable {kind} ({describe_error(exc)})") from None
    raise InputError(f"{where}: a quoted field opens here and is never closed (is the file cut off?)")


def _columnar_batches(path: Path, kind: str, compression, names: list[str], skipped=()) -> Iterator[dict]:
    """Record batches of the named columns, as {column: list of Python values}."""
    import pyarrow as pa

    if kind == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=names):
            yield batch.to_pydict()
    elif kind == "arrow":
        reader = _open_ipc(path)
        batches = (
            (reader.get_batch(i) for i in range(reader.num_record_batches))
            if hasattr(reader, "num_record_batches")
            else reader
        )
        for batch in batches:
            for start in range(0, batch.num_rows, BATCH_ROWS):
                yield batch.slice(start, BATCH_ROWS).select(names).to_pydict()
    else:
        import pyarrow.csv as pacsv

        header = _csv_header(path, kind, compression)
        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in header},
            include_columns=names,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        seen = []

        def skip(row):  # only the records check_csv_records counted, and no other
            seen.append(row)
            return "skip" if len(seen) <= len(skipped) else "error"

        parse = pacsv.ParseOptions(
            delimiter="\t" if kind == "tsv" else ",", newlines_in_values=True, invalid_row_handler=skip
        )
        stream = pa.input_stream(str(path), compression=compression)
        read = pacsv.ReadOptions(block_size=1 << 22, encoding="utf-8")
        with pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert) as reader:
            for batch in reader:
                yield {n: batch.column(n).to_pylist() for n in names}


def iter_file_rows(path: Path, names: list[str], bad: BadRows) -> Iterator[tuple[str, dict | None]]:
    """(where, {column: value}) of every row of one file, in order; the value is None for
    a row already counted bad (a JSON line that is not an object)."""
    kind, compression = file_kind(path)
    file = str(path)
    if kind == "json":
        for lineno, raw in open_text_lines(path):
            where = f"{path}:{lineno}"
            if not raw.strip():
                yield where, {}
                continue
            value = decode_json(raw, where, bad, file, first_line=lineno == 1)
            if value is BAD:
                yield where, None
            elif not isinstance(value, dict):
                what = "null" if value is None else type(value).__name__
                bad.add("not_an_object", where, f"a JSON-lines table row must be an object, got {what}", file=file)
                yield where, None
            else:
                yield where, value
        return
    row = 0
    skipped = check_csv_records(path, kind, compression, bad) if kind in ("csv", "tsv") else []
    try:
        for cols in _columnar_batches(path, kind, compression, names, skipped):
            for values in zip(*(cols[n] for n in names), strict=True):
                row += 1
                yield f"{path}: row {row}", dict(zip(names, values, strict=True))
    except _arrow_errors() as exc:
        raise InputError(f"{path}: unreadable {kind} after row {row} ({describe_error(exc)})") from None
    for where in skipped:  # read, and counted bad already
        yield where, None


def _texts(value, kind: str, csv_cell: bool):
    """A cell as a list of texts, or the reason it is bad."""
    if csv_cell and isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            return f"{kind} cell starts with '[' but is not a JSON list ({exc.msg})"
    if value is None:
        return f"{kind} cell is null"
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        return f"{kind} cell must be a string or a non-empty list of strings, got {type(value).__name__}"
    for item in items:
        if not isinstance(item, str):
            return f"{kind} cell holds a {type(item).__name__}, not a string"
        if is_blank(item):
            return f"{kind} cell is empty"
        if not encodable(item):
            return f"{kind} cell is not encodable as UTF-8 (lone surrogate?)"
    return items


def _missing(values: dict, names: list[str]) -> str | None:
    lost = [n for n in names if n not in values]
    return f"no {', '.join(map(repr, lost))} in the row" if lost else None


def parse_table_row(values: dict, cols: TableColumns, csv_cell: bool) -> tuple | str:
    """(query, positives, negatives) of one row's cells, or why the row is bad."""
    missing = _missing(values, cols.names)
    if missing:
        return missing
    query = values[cols.query]
    if query is None:
        return "query cell is null"
    if not isinstance(query, str):
        return f"query cell must be a string, got {type(query).__name__}"
    if is_blank(query):
        return "query cell is empty"
    if not encodable(query):
        return "query cell is not encodable as UTF-8 (lone surrogate?)"
    positives = _texts(values[cols.positive], "positive", csv_cell)
    if isinstance(positives, str):
        return positives
    title = ""
    if cols.title:
        title = values[cols.title]
        if not isinstance(title, str) or not encodable(title):
            return f"title cell must be a string, got {'null' if title is None else type(title).__name__}"
    negatives = []
    for name in cols.negatives:
        got = _texts(values[name], f"negative ({name})", csv_cell)
        if isinstance(got, str):
            return got
        negatives += got
    return query, [(title, p) for p in positives], [("", n) for n in negatives]


def file_columns(path: Path, cols: TableColumns) -> TableColumns:
    """``cols`` resolved against the header of ``path``; a named column that the file
    lacks is an InputError naming the file (planning reads it too, so ``-n`` finds it)."""
    names = column_names(path)
    if not names and file_kind(path)[0] == "json" and cols.query and cols.positive:
        names = cols.names  # the first line is not an object: it is counted bad when read
    return cols.resolve(names, str(path))


def iter_table(
    source, cols: TableColumns, bad: BadRows, files: dict, max_rows: int | None = None, progress=None
) -> Iterator[PairRow]:
    """Every row of every file of ``source`` (:func:`table_files`), in file order, as a
    :class:`PairRow` with the row's given negatives. Query ids are ``train-<row index>``
    over all files. ``files`` gets each file's ``{read, kept, dropped}`` counts (a blank
    JSON line is dropped); its bad rows are in ``bad.by_file``."""
    index = 0
    for path in table_files(source):
        file = str(path)
        used = file_columns(path, cols)
        csv_cell = file_kind(path)[0] in ("csv", "tsv")
        tally = files.setdefault(file, Counter(read=0, kept=0, dropped=0))
        for where, values in iter_file_rows(path, used.names, bad):
            if max_rows is not None and index >= max_rows:
                return
            tally["read"] += 1
            index += 1
            if progress is not None and index % 16384 == 0:
                progress.update(index)
            if values is None:
                continue
            if not values:
                tally["dropped"] += 1
                continue
            parsed = parse_table_row(values, used, csv_cell)
            if isinstance(parsed, str):
                bad.add("bad_cell", where, parsed, file=file)
                continue
            tally["kept"] += 1
            query, positives, negatives = parsed
            yield PairRow(index - 1, query, positives, negatives)
