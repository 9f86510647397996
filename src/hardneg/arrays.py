"""NumPy index helpers that more than one subpackage uses (mining, encode)."""

from __future__ import annotations

import numpy as np


def runs_of(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The rows ``starts[i] .. starts[i] + counts[i]`` of each ``i``, one run after another."""
    first = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return (first + np.arange(int(counts.sum()))).astype(np.int64)
