"""Finished blocks of a shard outlive an interrupt.

An embed job writes its vectors into ``.NAME.partial`` (a ``.npy`` memory map next to the
output ``NAME``) and appends a line per finished block to ``.NAME.blocks``: the block, a
digest of its rows and texts, and how many of its texts were truncated. Another run of the
job (the same output path: the same model, settings, dataset and shard) keeps every block
whose digest still matches, encodes the others, and renames the array onto the output.
Snakemake does not know these hidden files, so its clean-up of an interrupted job leaves
them; a finished job removes them.

A block is journalled only after its vectors are flushed to the file, so a journalled
block is on disk whatever kills the job afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def block_digest(rows: np.ndarray, texts: Sequence[str]) -> str:
    """A digest of a block's row numbers and texts (a changed text re-encodes its block)."""
    h = hashlib.blake2b(np.ascontiguousarray(rows, dtype=np.int64).tobytes(), digest_size=16)
    for text in texts:
        h.update(str(text).encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


class PartialArray:
    """A float32 ``(n, dim)`` array filled block by block, resumable after a kill.

    ``digests[k]`` is block ``k``'s :func:`block_digest`. ``kept`` maps the blocks an
    earlier run finished (with a matching digest) to their truncation counts."""

    def __init__(self, final: str | os.PathLike, shape: tuple[int, int], digests: Sequence[str]):
        self.final = Path(final)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.path = self.final.with_name(f".{self.final.name}.partial")
        self.journal_path = self.final.with_name(f".{self.final.name}.blocks")
        self.digests = list(digests)
        self.kept: dict[int, int] = {}
        header = f"float32 {shape[0]} {shape[1]} {len(self.digests)}\n"
        self.array = self._reopen(shape, header)
        if self.array is None:
            self.array = np.lib.format.open_memmap(self.path, mode="w+", dtype=np.float32, shape=shape)
            self.journal_path.write_text(header)
        self._journal = open(self.journal_path, "a", encoding="utf-8")

    def _reopen(self, shape, header: str):
        """The earlier run's array, if it has this shape and a journal of this job."""
        try:
            lines = self.journal_path.read_text(encoding="utf-8").splitlines(keepends=True)
            if not lines or lines[0] != header:
                return None
            array = np.load(self.path, mmap_mode="r+")
        except (OSError, ValueError):
            return None
        if array.shape != shape or array.dtype != np.float32:
            return None
        for line in lines[1:]:
            parts = line.split()
            if len(parts) == 3 and line.endswith("\n") and parts[0].isdigit() and parts[2].isdigit():
                k = int(parts[0])
                if k < len(self.digests) and self.digests[k] == parts[1]:
                    self.kept[k] = int(parts[2])
        return array

    def finished(self, block: int, truncated: int) -> None:
        """Record block ``block`` as written (its vectors are flushed first)."""
        self.array.flush()
        self._journal.write(f"{block} {self.digests[block]} {truncated}\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())

    def commit(self) -> None:
        """Rename the whole array onto the output and drop the journal."""
        self.array.flush()
        del self.array
        with open(self.path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.path, self.final)
        self._journal.close()
        with contextlib.suppress(FileNotFoundError):
            self.journal_path.unlink()

    def close(self) -> None:
        """Leave the array and journal for the next run (after an error or an interrupt)."""
        if not self._journal.closed:
            self._journal.close()
