"""The evaluate stage's arithmetic: retrieval metrics against hand-computed values, the
sign test against the exact binomial, the bootstrap, and the pair hold-out's choice."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from hardneg.evaluate.holdout import pair_holdout
from hardneg.evaluate.metrics import bootstrap_interval, compare, per_query_metrics, sign_test
from hardneg.options import EvaluateOptions
from hardneg.stages.holdout import HoldoutJob


def _ranked(*rows):
    out = np.full((len(rows), 100), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def test_metrics_of_hand_made_rankings():
    ranked = _ranked([3, 1, 2], list(range(20, 40)) + [7], [9, 8])
    got = per_query_metrics(ranked, [{1, 2}, {7}, {4}])
    ideal = 1 + 1 / math.log2(3)
    assert got["ndcg@10"][0] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / ideal)
    assert got["mrr@10"][0] == pytest.approx(0.5)
    assert got["recall@100"][0] == 1.0
    # relevant at rank 21: outside the top 10, inside the top 100
    assert (got["ndcg@10"][1], got["mrr@10"][1], got["recall@100"][1]) == (0.0, 0.0, 1.0)
    # never retrieved
    assert (got["ndcg@10"][2], got["recall@100"][2]) == (0.0, 0.0)


def test_ndcg_caps_the_ideal_at_ten_relevant():
    ranked = _ranked(list(range(10)))
    got = per_query_metrics(ranked, [set(range(12))])
    assert got["ndcg@10"][0] == pytest.approx(1.0)
    assert got["recall@100"][0] == pytest.approx(10 / 12)


@pytest.mark.parametrize("wins, losses, ties", [(2, 8, 0), (8, 2, 3), (5, 5, 1), (0, 12, 0), (300, 260, 40)])
def test_sign_test_is_the_exact_two_sided_binomial(wins, losses, ties):
    diff = np.array([1.0] * wins + [-1.0] * losses + [0.0] * ties)
    n, k = wins + losses, min(wins, losses)
    exact = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)
    got = sign_test(diff)
    assert (got["wins"], got["losses"], got["ties"]) == (wins, losses, ties)
    assert got["p"] == pytest.approx(exact, rel=1e-9)


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    values = np.random.default_rng(0).random(400)
    lo, hi = bootstrap_interval(values, 500, seed=1)
    assert lo < values.mean() < hi and hi - lo < 0.1
    assert bootstrap_interval(values, 500, seed=1) == (lo, hi)
    assert bootstrap_interval(np.full(50, 0.25), 200, seed=0) == (0.25, 0.25)
    same = compare(values, values, 200, seed=0)
    assert same["mean"] == 0 and same["ci95"] == [0.0, 0.0] and same["sign_test"]["ties"] == 400


def _tables(texts, positives):
    queries = pa.table({"query_id": [f"train-{i}" for i in range(len(texts))], "text": texts})
    qrels = pa.table({"query_idx": list(range(len(texts))), "passage_idx": positives})
    return queries, qrels


def test_pair_hold_out_depends_on_the_texts_only_and_takes_every_row_of_a_text():
    rng = np.random.default_rng(3)
    texts = [f"what is item number {i % 300}?" for i in range(600)]  # every text twice
    positives = [i % 300 for i in range(600)]
    job = HoldoutJob(dataset="d", format="pairs", evaluate=EvaluateOptions(holdout_fraction=0.2), max_bad_rows=0)
    rows, exclude, counts = pair_holdout(*_tables(texts, positives), job)
    assert counts["distinct_query_texts"] == 300 and 30 < len(rows) < 90
    held = {r[1] for r in rows}
    assert exclude.tolist() == [t in held for t in texts]
    assert all(r[2] == [int(r[1].split()[-1][:-1])] for r in rows)  # the text's positive
    order = rng.permutation(600)
    rows2, _, _ = pair_holdout(*_tables([texts[i] for i in order], [positives[i] for i in order]), job)
    assert {r[1] for r in rows2} == held
    capped, exclude_capped, _ = pair_holdout(
        *_tables(texts, positives),
        HoldoutJob(
            dataset="d", format="pairs", evaluate=EvaluateOptions(holdout_fraction=0.2, max_holdout=10), max_bad_rows=0
        ),
    )
    assert len(capped) == 10 and {r[1] for r in capped} <= held and exclude_capped.sum() == 20
