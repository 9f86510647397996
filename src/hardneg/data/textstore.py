"""The one passage (and query) store: random row access to prepare's tables, reading only
the rows asked for (:class:`TextStore` for many reads, :func:`take_rows` for a few). Used
by mine, rescore, examples and train."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .texts import text_hashes


def joined_text(batch: pa.RecordBatch) -> pa.Array:
    """passage_text over a batch of passages, in Arrow."""
    title, text = batch.column("title"), batch.column("text")
    joined = pc.binary_join_element_wise(title, text, " ")
    return pc.if_else(pc.equal(title, ""), text, joined)


@contextmanager
def scratch_dir(out_path):
    """A private work folder beside ``out_path`` (on the output's disk), removed after."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{out_path.name}.work-{os.getpid()}-", dir=out_path.parent)
    try:
        yield Path(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class TextStore:
    """A parquet table copied once into an uncompressed, memory-mapped Arrow file in
    fixed-size record batches, for random row access that reads only the rows asked for.
    ``hash_of(batch)`` gives the text whose 128-bit hash is kept per row (``None``: no
    hashes). ``derived`` ({name: batch -> string array}) adds computed columns (an output
    format's per-passage fragment, computed once per job), each kept as one memory-mapped
    string array over all rows (:meth:`take_derived`: one gather, in any order). With
    ``stored`` false, only the hashes, ``extra`` and derived columns are kept."""

    def __init__(
        self,
        parquet_path,
        tmpdir,
        columns: list[str],
        hash_of=None,
        *,
        batch_rows: int = 32768,
        extra=None,
        derived=None,
        stored: bool = True,
    ):
        self.batch_rows = batch_rows
        path = Path(tmpdir) / (Path(parquet_path).stem + ".arrow")
        pf = pq.ParquetFile(parquet_path)
        self.num_rows = pf.metadata.num_rows
        schema = pf.schema_arrow
        self.hashes = np.empty((self.num_rows, 2), dtype=np.uint64) if hash_of else None
        self.extra = np.empty(self.num_rows, dtype=np.uint64) if extra else None
        derived = {k: _FlatStrings(path.with_suffix(f".{k}"), f) for k, f in (derived or {}).items()}
        done, w = 0, None
        with pa.OSFile(str(path), "wb") if stored else contextlib.nullcontext() as sink:
            for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
                n = batch.num_rows
                if hash_of:
                    self.hashes[done : done + n] = text_hashes(hash_of(batch).to_numpy(zero_copy_only=False))
                if extra:
                    self.extra[done : done + n] = extra(batch)
                for d in derived.values():
                    d.add(batch)
                if stored:
                    w = w or pa.ipc.new_file(sink, batch.schema)
                    w.write_batch(batch)
                done += n
            if stored:
                w = w or pa.ipc.new_file(sink, pa.schema([schema.field(c) for c in columns]))  # empty: the schema
                w.close()
        self._reader = pa.ipc.open_file(pa.memory_map(str(path))) if stored else None
        self.columns = columns if stored else []
        self.derived = {k: d.close() for k, d in derived.items()}

    def take_derived(self, name: str, idx: np.ndarray) -> pa.Array:
        """The derived column ``name`` at rows ``idx`` (any order, repeats allowed)."""
        return self.derived[name].take(pa.array(np.asarray(idx, dtype=np.int64)))

    def _batch(self, b: int) -> pa.RecordBatch:
        return self._reader.get_batch(b)

    def take(self, idx: np.ndarray) -> dict[str, list]:
        """Columns of rows ``idx`` (any order, repeats allowed) as Python lists."""
        got = self.take_table(idx)
        return {c: got.column(c).to_pylist() for c in self.columns}

    def take_table(self, idx: np.ndarray, columns: list[str] | None = None) -> pa.Table:
        """Rows ``idx`` (any order, repeats allowed) as an Arrow table of ``columns`` (all)."""
        idx = np.asarray(idx, dtype=np.int64)
        if len(idx) == 0:
            return self._reader.schema.empty_table().select(columns or self.columns)
        b = idx // self.batch_rows
        order = np.argsort(b, kind="stable")
        bounds = np.flatnonzero(np.diff(b[order])) + 1
        pieces = [
            self._batch(int(b[part[0]])).select(columns or self.columns).take(pa.array(idx[part] % self.batch_rows))
            for part in np.split(order, bounds)
        ]
        got = pa.Table.from_batches(pieces)
        if np.all(idx[1:] >= idx[:-1]):  # asked in row order: already in place
            return got
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return got.take(pa.array(back))

    def slice(self, start: int, stop: int) -> dict[str, list]:
        """Columns of the contiguous rows [start, stop) as Python lists."""
        out: dict[str, list] = {c: [] for c in self.columns}
        if stop <= start:
            return out
        for b in range(start // self.batch_rows, (stop - 1) // self.batch_rows + 1):
            batch = self._batch(b)
            lo = max(start - b * self.batch_rows, 0)
            hi = min(stop - b * self.batch_rows, batch.num_rows)
            part = batch.slice(lo, hi - lo)
            for c in self.columns:
                out[c].extend(part.column(c).to_pylist())
        return out


class _FlatStrings:
    """A string column written batch by batch into one file of bytes and one of int64
    offsets, then memory-mapped as a single ``large_string`` array."""

    def __init__(self, path: Path, make):
        self.path, self.make = path, make
        self._data, self._offsets = open(path, "wb"), open(path.with_name(path.name + ".offsets"), "wb")
        self._offsets.write(np.zeros(1, dtype=np.int64).tobytes())
        self.rows = self.used = 0

    def add(self, batch: pa.RecordBatch) -> None:
        arr = self.make(batch).cast(pa.large_string())
        if arr.null_count:  # a null input field: never silently dropped
            row = self.rows + int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
            raise ValueError(f"{self.path.stem}: a null {self.path.suffix[1:]} at row {row}")
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
        if arr.buffers()[2] is not None:
            self._data.write(memoryview(arr.buffers()[2])[offsets[0] : offsets[-1]])
        self._offsets.write((offsets[1:] - offsets[0] + self.used).tobytes())
        self.used += int(offsets[-1] - offsets[0])
        self.rows += len(arr)

    def close(self) -> pa.Array:
        self._data.close()
        self._offsets.close()
        offsets = pa.memory_map(self._offsets.name).read_buffer()
        data = pa.memory_map(str(self.path)).read_buffer() if self.used else pa.py_buffer(b"")
        return pa.Array.from_buffers(pa.large_string(), self.rows, [None, offsets, data])


def passage_store(path, tmpdir, *, hashed: bool = True, derived=None, stored: bool = True) -> TextStore:
    """Prepare's passages table: ``docid``, ``title``, ``text``; hashed by ``passage_text``."""
    columns = ["docid", "title", "text"]
    return TextStore(path, tmpdir, columns, joined_text if hashed else None, derived=derived, stored=stored)


def take_rows(parquet_path, idx: np.ndarray, columns: list[str]) -> dict[str, list]:
    """Columns of rows ``idx`` of a parquet table as Python lists, reading only those rows:
    for a few reads, where copying the table into a :class:`TextStore` would cost more."""
    import pyarrow.dataset as pads

    got = pads.dataset(parquet_path, format="parquet").take(np.asarray(idx, dtype=np.int64), columns=columns)
    return {c: got.column(c).to_pylist() for c in columns}
