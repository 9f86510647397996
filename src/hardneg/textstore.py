"""Random row access to the queries or passages table, reading only the rows asked for."""

from __future__ import annotations

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


class TextStore:
    """A parquet table copied once into an uncompressed, memory-mapped Arrow file in
    fixed-size record batches, for random row access that reads only the rows asked for.
    ``hash_of(batch)`` gives the text whose 128-bit hash is kept per row."""

    def __init__(self, parquet_path, tmpdir, columns: list[str], hash_of, *, batch_rows: int = 32768, extra=None):
        self.batch_rows = batch_rows
        path = Path(tmpdir) / (Path(parquet_path).stem + ".arrow")
        pf = pq.ParquetFile(parquet_path)
        self.num_rows = pf.metadata.num_rows
        schema = pf.schema_arrow
        self.hashes = np.empty((self.num_rows, 2), dtype=np.uint64)
        self.extra = np.empty(self.num_rows, dtype=np.uint64) if extra else None
        done = 0
        with (
            pa.OSFile(str(path), "wb") as sink,
            pa.ipc.new_file(sink, pa.schema([schema.field(c) for c in columns])) as w,
        ):
            for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
                n = batch.num_rows
                self.hashes[done : done + n] = text_hashes(hash_of(batch).to_numpy(zero_copy_only=False))
                if extra:
                    self.extra[done : done + n] = extra(batch)
                w.write_batch(batch)
                done += n
        self._reader = pa.ipc.open_file(pa.memory_map(str(path)))
        self.columns = columns

    def _batch(self, b: int) -> pa.RecordBatch:
        return self._reader.get_batch(b)

    def take(self, idx: np.ndarray) -> dict[str, list]:
        """Columns of rows ``idx`` (any order, repeats allowed) as Python lists."""
        idx = np.asarray(idx, dtype=np.int64)
        out = {c: [None] * len(idx) for c in self.columns}
        if len(idx) == 0:
            return out
        b = idx // self.batch_rows
        order = np.argsort(b, kind="stable")
        bounds = np.flatnonzero(np.diff(b[order])) + 1
        for part in np.split(order, bounds):
            batch = self._batch(int(b[part[0]])).take(pa.array(idx[part] % self.batch_rows))
            for c in self.columns:
                vals = batch.column(c).to_pylist()
                col = out[c]
                for i, v in zip(part.tolist(), vals, strict=True):
                    col[i] = v
        return out

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
