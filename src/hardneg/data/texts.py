"""Texts as every stage sees them: the embedded passage text and 128-bit text hashes."""

from __future__ import annotations

import unicodedata

import numpy as np

_HASH_KEYS = ("hardneg-text-k1.", "hardneg-text-k2.")  # 16 bytes each (SipHash keys)


def passage_text(title: str, text: str) -> str:
    """The text that is embedded and compared: ``title + " " + text``, the space only
    when the title is non-empty (the seed always added it, giving a leading space)."""
    return f"{title} {text}" if title else text


def text_hashes(texts) -> np.ndarray:
    """(n, 2) uint64: a 128-bit hash of each string (two SipHash-2-4 keys)."""
    from pandas.util import hash_array

    values = np.asarray(texts, dtype=object)
    return np.stack([hash_array(values, hash_key=k, categorize=False) for k in _HASH_KEYS], axis=1)


def normalized_text(text: str) -> str:
    """The text as the normalized-text check compares it: Unicode NFKC, casefolded, runs
    of whitespace collapsed to one space and stripped (``"Foo  bar"`` equals ``"foo bar"``)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def row_ids(hashes: np.ndarray) -> np.ndarray:
    """The same int64 id for rows with the same 128-bit hash (ids in hash order: the ids
    ``np.unique`` gives, from a sort of the two 64-bit words, several times faster)."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((hashes[:, 1], hashes[:, 0]))
    s = hashes[order]
    new = np.r_[True, (s[1:, 0] != s[:-1, 0]) | (s[1:, 1] != s[:-1, 1])]
    ids = np.empty(len(hashes), dtype=np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


def table_hashes(path, columns: list[str], text_of, batch_rows: int = 65536) -> np.ndarray:
    """(rows, 2) uint64: the 128-bit hash of ``text_of(batch)`` (a list of strings per
    parquet record batch of ``columns``) for every row of the table at ``path``, one batch in
    memory at a time."""
    import pyarrow.parquet as pq

    parts = [text_hashes(text_of(b)) for b in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns)]
    return np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.uint64)
