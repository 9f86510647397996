"""Negative selection: pure array code, candidates in, chosen negatives and reasons out.

- exclusion is by membership in sorted key arrays: ``(group, passage)`` for positive ids
  and ``(group, text)`` for positive texts, where a group is one query row, or
  (``group_identical_queries``) every row with the same query text. That is linear in
  the number of rows however often a query text repeats;
- random sampling gives each (query, candidate) a 64-bit key derived from
  ``(seed, query_id, passage)`` and keeps the ``num_negatives`` smallest: a uniform
  sample, independent of order, threads and shard count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..options import MiningOptions

# Removal reasons, in the order the rules are applied. Every candidate considered is
# either kept or removed by exactly one of these, so kept + removed == considered.
REASONS = (
    "outside_window",
    "positive_id",
    "positive_text",
    "positive_normalized_text",
    "positive_similarity",
    "query_text",
    "given_negative",
    "judged_positive",
    "absolute_margin",
    "relative_margin",
    "max_score",
    "min_score",
    "not_sampled",
)
_CODE = {r: i + 1 for i, r in enumerate(REASONS)}  # 0 = kept


def query_seeds(seed: int, query_ids) -> np.ndarray:
    """uint64 per query: the sampling stream of (seed, query_id), nothing else."""
    from pandas.util import hash_array

    key = hashlib.sha256(f"hardneg-seed\x00{seed}".encode()).hexdigest()[:16]
    return hash_array(np.asarray(query_ids, dtype=object), hash_key=key, categorize=False)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijective, well-mixed uint64 -> uint64."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def sample_keys(seeds: np.ndarray, passage_idx: np.ndarray) -> np.ndarray:
    """Random key of each (query, candidate): a function of the query's seed and the
    passage index only, so a candidate's chance never depends on its neighbours."""
    with np.errstate(over="ignore"):
        return _mix64(seeds.astype(np.uint64) ^ _mix64(passage_idx.astype(np.uint64) + np.uint64(1)))


class PairSets:
    """Per group, a set of ints: the pairs ``(group, value)`` as the sorted unique keys
    ``group * width + value``. Membership compares a pair with its group's keys directly
    (most groups hold one to a few: a query's positives), a binary search only in groups
    of more than ``DIRECT`` keys."""

    DIRECT = 8

    def __init__(self, groups: np.ndarray, values: np.ndarray, width: int, n_groups: int):
        self.width = max(int(width), 1)
        self.keys = np.unique(groups.astype(np.int64) * self.width + values)
        bounds = np.searchsorted(self.keys, np.arange(n_groups + 1, dtype=np.int64) * self.width)
        self.start, self.count = bounds[:-1], np.diff(bounds)

    def __len__(self) -> int:
        return len(self.keys)

    def contains(self, groups: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Whether each ``(groups[i], values[i])`` is in its group's set."""
        if not len(self.keys):
            return np.zeros(len(groups), dtype=bool)
        key = groups * self.width + values
        start, count = self.start[groups], self.count[groups]
        out = (self.keys[np.minimum(start, len(self.keys) - 1)] == key) & (count > 0)
        at = np.flatnonzero(count > 1)  # the few pairs whose group holds more
        for k in range(1, self.DIRECT):
            if not len(at):
                return out
            out[at] |= self.keys[start[at] + k] == key[at]
            at = at[count[at] > k + 1]
        if len(at):
            pos = np.minimum(np.searchsorted(self.keys, key[at]), len(self.keys) - 1)
            out[at] |= self.keys[pos] == key[at]
        return out


def group_starts(groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the first row of each group in a sorted group array (len n_groups + 1)."""
    return np.searchsorted(groups, np.arange(n_groups + 1))


@dataclass
class CandidateArrays:
    """One entry per candidate, sorted by local query number ``cq`` (0..n-1), then rank.

    ``rank``: 0-based rank within the query; ``excl_id`` / ``excl_text``: the candidate is a
    positive of its group by id / by text; ``is_query_text``: its text is the query's;
    ``margin``: the query's lowest positive score (NaN: none); ``keys``: its random
    sampling key (:func:`sample_keys`)."""

    cq: np.ndarray
    rank: np.ndarray
    scores: np.ndarray
    excl_id: np.ndarray
    excl_text: np.ndarray
    is_query_text: np.ndarray
    margin: np.ndarray
    keys: np.ndarray
    # only with exclude_normalized_text / max_positive_similarity: the candidate equals a
    # positive of its group after normalization; its highest cosine to the query's positives
    excl_norm_text: np.ndarray | None = None
    positive_similarity: np.ndarray | None = None
    # only with a cross-encoder judge: it calls the candidate relevant (hardneg.mining.mine.Judge)
    judged: np.ndarray | None = None
    # only where the data gives negatives: the candidate is one of its group's given negatives
    given: np.ndarray | None = None


def select_candidates(
    c: CandidateArrays, n_queries: int, opts: MiningOptions, judge: str = "keep", quota: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Choose negatives for a run of queries at once. Returns ``chosen`` (candidate
    indices, grouped by query, in output order) and ``reason`` (int8 code per candidate:
    0 kept, else 1 + index into REASONS). ``judge`` ``drop`` or ``relabel`` removes the
    candidates ``c.judged`` calls relevant (the miner moves them to the positives for
    relabel). ``quota``: negatives to mine per query (default ``num_negatives``; fewer
    where the data gives some)."""
    cq, pos = c.cq, c.rank
    n = len(cq)
    reason = np.zeros(n, dtype=np.int8)

    def remove(mask, why: str) -> None:
        np.copyto(reason, _CODE[why], where=(reason == 0) & mask)

    if opts.rank_window == "raw":
        reason[(pos < opts.range_min) | (pos >= opts.range_max)] = _CODE["outside_window"]
    remove(c.excl_id, "positive_id")
    remove(c.excl_text, "positive_text")
    if opts.exclude_normalized_text:
        remove(c.excl_norm_text, "positive_normalized_text")
    if opts.max_positive_similarity is not None:
        remove(c.positive_similarity >= opts.max_positive_similarity, "positive_similarity")
    if opts.exclude_query_text:
        remove(c.is_query_text, "query_text")
    if c.given is not None:
        remove(c.given, "given_negative")
    if judge in ("drop", "relabel"):
        remove(c.judged, "judged_positive")
    margin = c.margin
    has_margin = ~np.isnan(margin)
    s = np.asarray(c.scores, dtype=np.float64)
    if opts.absolute_margin is not None:
        remove(has_margin & (s > margin - opts.absolute_margin), "absolute_margin")
    if opts.relative_margin is not None:
        remove(has_margin & (s > margin - np.abs(margin) * opts.relative_margin), "relative_margin")
    if opts.max_score is not None:
        remove(s > opts.max_score, "max_score")
    if opts.min_score is not None:
        remove(s < opts.min_score, "min_score")
    if opts.rank_window == "filtered":
        # sentence-transformers: skip the first range_min survivors, stop at range_max
        surv = reason == 0
        csum = np.cumsum(surv)
        k = csum - np.r_[0, csum][np.arange(n) - pos]  # 1-based survivor count within the query
        reason[surv & ~((k > opts.range_min) & (k <= opts.range_max))] = _CODE["outside_window"]

    pool = np.flatnonzero(reason == 0)
    size = np.bincount(cq[pool], minlength=n_queries)
    cap = opts.num_negatives if quota is None else quota[cq[pool]]
    # the pool is in (query, rank) order; with random sampling, over-full pools take the
    # quota's smallest random keys, in key order; others keep every candidate in rank order
    order = np.arange(len(pool))
    if opts.sampling_strategy == "random":
        over = np.flatnonzero(size[cq[pool]] > cap)
        order[over] = over[group_order(cq[pool[over]], c.keys[pool[over]], n_queries)]
    pool = pool[order]
    if quota is not None:
        cap = cap[order]
    pstarts = group_starts(cq[pool], n_queries)
    within = np.arange(len(pool)) - pstarts[cq[pool]]
    reason[pool[within >= cap]] = _CODE["not_sampled"]
    return pool[within < cap], reason


def group_order(groups: np.ndarray, keys: np.ndarray, n_groups: int) -> np.ndarray:
    """``np.lexsort((keys, groups))`` for uint64 ``keys`` and groups in 0..n_groups-1, as
    one sort of packed values: the group in the high bits, then the key's high bits, then
    the position. Where two packed keys of a group tie, the exact lexsort decides."""
    g_bits = max(1, int(n_groups - 1).bit_length())
    i_bits = max(1, int(len(groups) - 1).bit_length())
    if len(groups) < 2 or g_bits + i_bits > 48:
        return np.lexsort((keys, groups))
    u = np.uint64
    packed = (groups.astype(u) << u(64 - g_bits)) | ((keys >> u(g_bits + i_bits)) << u(i_bits))
    packed = np.sort(packed | np.arange(len(groups), dtype=u))
    if np.any(np.diff(packed >> u(i_bits)) == 0):
        return np.lexsort((keys, groups))
    return (packed & u((1 << i_bits) - 1)).astype(np.int64)


def count_reasons(reason: np.ndarray) -> np.ndarray:
    """Candidates per code (0 kept, then REASONS)."""
    return np.bincount(reason, minlength=len(REASONS) + 1)
