"""Properties of negative selection (select_negatives), on randomized candidate lists."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from stages import select_negatives

from hardneg.mining.select import REASONS, PairSets
from hardneg.options import PRESETS, MiningOptions


def make_case(rng: random.Random, n_cand=100, n_pos=3):
    ids = rng.sample(range(10_000), n_cand)
    scores = sorted((rng.uniform(-0.2, 0.95) for _ in ids), reverse=True)
    texts = [f"passage {i}" for i in ids]
    pos_ids = set(rng.sample(ids[:20], n_pos))
    # one non-positive candidate has a positive's text (a duplicate passage)
    dup = next(i for i in range(n_cand) if ids[i] not in pos_ids)
    pos_texts = {f"passage {p}" for p in pos_ids} | {texts[dup]}
    return ids, scores, texts, pos_ids, pos_texts, dup


def run(opts, case, query_id="q1", query_text="passage 5", pos_score=0.8):
    ids, scores, texts, pos_ids, pos_texts, _ = case
    removed = Counter()
    chosen = select_negatives(
        (query_id, query_text), (ids, scores, texts), (pos_ids, pos_texts, pos_score), opts, removed
    )
    return chosen, removed


@pytest.mark.parametrize("trial", range(25))
def test_seed_window_properties(trial):
    rng = random.Random(trial)
    case = make_case(rng)
    ids, _, texts, pos_ids, pos_texts, dup = case
    opts = MiningOptions(**PRESETS["seed"])
    chosen, removed = run(opts, case)
    assert 1 <= len(chosen) <= opts.num_negatives
    assert len(set(chosen)) == len(chosen)
    for c in chosen:
        assert opts.range_min <= c < opts.range_max  # raw rank window
        assert ids[c] not in pos_ids and texts[c] not in pos_texts
    assert dup not in chosen
    assert len(chosen) + sum(removed.values()) == len(ids)
    assert set(removed) <= set(REASONS)
    # deterministic per (seed, query id), independent of anything else
    assert run(opts, case)[0] == chosen
    other = [run(MiningOptions(**{**PRESETS["seed"], "seed": s}), case)[0] for s in range(5)]
    assert any(o != chosen for o in other)


def test_fewer_candidates_than_n_keeps_all_without_padding():
    ids, scores, texts = [1, 2, 3, 4, 5], [0.9, 0.8, 0.7, 0.6, 0.5], ["a", "b", "c", "d", "e"]
    removed = Counter()
    opts = MiningOptions(**PRESETS["seed"])
    chosen = select_negatives(("q", "query"), (ids, scores, texts), ({4}, {"d"}, None), opts, removed)
    assert chosen == [2, 4]  # ranks 2..4 minus the positive at rank 3, in rank order
    assert removed == Counter({"outside_window": 2, "positive_id": 1})


def test_filtered_window_skips_survivors_like_sentence_transformers():
    ids = list(range(10))
    scores = [1 - i / 10 for i in ids]
    texts = [str(i) for i in ids]
    opts = MiningOptions(range_min=1, range_max=4, num_negatives=3, sampling_strategy="top", rank_window="filtered")
    removed = Counter()
    chosen = select_negatives(("q", "x"), (ids, scores, texts), ({0, 2}, {"0", "2"}, None), opts, removed)
    # survivors after removing positives 0 and 2: 1,3,4,5,...; skip 1 survivor, take up to the 4th
    assert chosen == [3, 4, 5]
    assert removed["positive_id"] == 2 and removed["outside_window"] == 5


def test_relative_margin_is_percpos():
    ids = list(range(6))
    scores = [0.90, 0.80, 0.77, 0.76, 0.70, 0.10]
    opts = MiningOptions(**{**PRESETS["percpos95"], "num_negatives": 5})
    removed = Counter()
    chosen = select_negatives(("q", "x"), (ids, scores, [str(i) for i in ids]), (set(), set(), 0.8), opts, removed)
    # threshold 0.8 - 0.8 * 0.05 = 0.76: strictly above is removed
    assert [scores[c] for c in chosen] == [0.76, 0.70, 0.10]
    assert removed["relative_margin"] == 3


def test_query_text_exclusion_and_score_bounds():
    ids, scores, texts = [1, 2, 3, 4], [0.9, 0.5, 0.4, 0.05], ["the query", "b", "c", "d"]
    opts = MiningOptions(
        range_min=0, range_max=4, num_negatives=4, exclude_query_text=True, max_score=0.45, min_score=0.1
    )
    removed = Counter()
    chosen = select_negatives(("q", "the query"), (ids, scores, texts), (set(), set(), None), opts, removed)
    assert chosen == [2]
    assert removed == Counter({"query_text": 1, "max_score": 1, "min_score": 1})


def test_group_order_is_lexsort_also_on_ties():
    """The packed sort of the random-sampling order equals ``np.lexsort((keys, groups))``,
    also where keys tie in their packed high bits (then the exact lexsort decides)."""
    from hardneg.mining.select import group_order

    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 7, 5000):
        groups = np.sort(rng.integers(0, 64, n))
        keys = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
        assert np.array_equal(group_order(groups, keys, 64), np.lexsort((keys, groups)))
    tied = np.array([5, 5 + 1, 3, 1 << 40, (1 << 40) + 2], dtype=np.uint64)  # equal high bits
    assert np.array_equal(group_order(np.zeros(5, int), tied, 1), np.lexsort((tied, np.zeros(5, int))))


@pytest.mark.parametrize("seed", range(3))
def test_pair_sets_answer_as_a_python_set_does(seed):
    """Groups with no key, one key and more keys than PairSets compares directly."""
    rng = np.random.default_rng(seed)
    n_groups, width = 60, 50
    sizes = rng.choice([0, 1, 2, PairSets.DIRECT, PairSets.DIRECT + 5, 40], size=n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    values = np.concatenate([rng.choice(width, size=k, replace=False) for k in sizes])
    sets = PairSets(np.r_[groups, groups[:10]], np.r_[values, values[:10]], width, n_groups)  # repeats: one key
    qg, qv = rng.integers(0, n_groups, 20_000), rng.integers(0, width, 20_000)
    want = set(zip(groups.tolist(), values.tolist(), strict=True))
    got = sets.contains(qg, qv)
    assert got.tolist() == [(g, v) in want for g, v in zip(qg.tolist(), qv.tolist(), strict=True)]
    assert len(sets) == len(want) and 0 < got.sum() < len(got)
    assert not PairSets(np.zeros(0, np.int64), np.zeros(0, np.int64), width, n_groups).contains(qg, qv).any()
