"""Cached files are checked when they are read.

The job that writes an embedding shard, a candidate table or a positive-scores table
records each file's row count, size and CRC-32 in its stats (``files:``), with the rule
that wrote it. A reader calls :func:`verify` on what it reads before using it: a
truncated file, a flipped byte or a file copied from another dataset fails the job with
one line naming the file and the rule, after deleting the file, so that the next run
rebuilds it. Garbage is never searched or mined.

A cache written before stats held fingerprints is read as it is, with a warning.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from .io import InputError, read_json, write_json

CHUNK = 1 << 24  # bytes read per CRC update


class CacheError(InputError):
    """A cached file does not match what its job recorded."""


def crc32(path) -> str:
    crc = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            crc = zlib.crc32(block, crc)
    return f"{crc:08x}"


def row_count(path) -> int:
    """Rows of a ``.npy`` array (its header) or a parquet table (its footer)."""
    if str(path).endswith(".npy"):
        import numpy as np

        return int(np.load(path, mmap_mode="r").shape[0])
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def fingerprint(path, rows: int) -> dict:
    """What :func:`verify` checks a file against: ``rows``, its size and CRC-32."""
    return {"rows": int(rows), "bytes": os.path.getsize(path), "crc32": crc32(path)}


def fingerprints(rule: str, dataset: str, files: dict) -> dict:
    """The ``files:`` entry of a stats file: ``{name: fingerprint}`` of ``files``
    (``{path: rows}``, all in the stats' folder), with the writing rule and dataset."""
    return {
        "rule": rule,
        "dataset": dataset,
        "files": {Path(p).name: fingerprint(p, rows) for p, rows in files.items()},
    }


def _problem(path: Path, fp: dict) -> str | None:
    size = path.stat().st_size
    if size != fp["bytes"]:
        return f"{size:,} bytes where {fp['bytes']:,} were written (truncated or replaced)"
    try:
        rows = row_count(path)
    except Exception as exc:  # an unreadable header or footer
        return f"unreadable ({type(exc).__name__})"
    if rows != fp["rows"]:
        return f"{rows:,} rows where {fp['rows']:,} were written"
    got = crc32(path)
    if got != fp["crc32"]:
        return f"CRC-32 {got} where {fp['crc32']} was written (a damaged byte, or another file)"
    return None


def verify(files, stats_files, *, dataset: str, logger=None) -> None:
    """Check each of ``files`` against the fingerprint recorded for it in ``stats_files``
    (the stats written beside it). On a mismatch, delete the file and fail naming it."""
    recorded, older = {}, []
    for stats_path in stats_files:
        stats = read_json(stats_path)
        entry = stats.get("cache")
        if entry is None:
            older.append(str(stats_path))
            continue
        if entry["dataset"] != dataset:
            raise CacheError(
                f"{stats_path}: the stats of dataset {entry['dataset']!r} stand where {dataset!r}'s belong "
                f"(a copied cache?); delete that folder so that rule {entry['rule']} rebuilds it"
            )
        folder = Path(stats_path).parent
        for name, fp in entry["files"].items():
            recorded[folder / name] = (fp, entry["rule"])
    if older and logger:
        logger.warning("not verified (stats written before caches carried checksums): %s", ", ".join(older))
    for f in files:
        path = Path(f)
        if path not in recorded:
            continue
        fp, rule = recorded[path]
        problem = _problem(path, fp)
        if problem:
            path.unlink(missing_ok=True)
            raise CacheError(f"{path}: {problem}; deleted it, so that the next run rebuilds it with rule {rule}")


def write_table_fingerprints(rule: str, dataset: str, outputs) -> None:
    """``outputs.stats`` of a job that wrote ``outputs.candidates``,
    ``outputs.positive_scores`` and ``outputs.given_scores`` (merge, rescore): their
    fingerprints."""
    tables = [outputs.candidates, outputs.positive_scores, outputs.given_scores]
    write_json(outputs.stats, {"cache": fingerprints(rule, dataset, {p: row_count(p) for p in tables})})


def verify_tables(inputs, dataset: str, logger=None) -> None:
    """Check ``inputs.candidates``, ``inputs.positive_scores`` (and ``inputs.given_scores``,
    where the job reads it) against ``inputs.cache_stats``."""
    stats = inputs.cache_stats
    stats = [stats] if isinstance(stats, str | os.PathLike) else list(stats)
    tables = [inputs.candidates, inputs.positive_scores]
    if getattr(inputs, "given_scores", None):
        tables.append(inputs.given_scores)
    verify(tables, stats, dataset=dataset, logger=logger)
