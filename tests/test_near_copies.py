"""Near-copies of a positive: the normalized-text check and the passage-passage filter,
through the real prepare, search, merge and mine stages (vectors made here, so that the
near-copy's cosine is known)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from stages import Files, merge_shards, prepare_dataset, search_files

from hardneg.data.texts import normalized_text
from hardneg.mining import mine
from hardneg.options import PRESETS, MiningOptions
from hardneg.search.merge import positive_scores
from hardneg.stages.mine import MineJob

N_ROWS = 40


def test_normalized_text_folds_case_width_and_whitespace():
    assert normalized_text("Foo  bar\n") == normalized_text("foo bar") == "foo bar"
    assert normalized_text("ＦＯＯ\u00a0Bar") == "foo bar"  # NFKC: full-width letters, no-break space
    assert normalized_text("Straße") == normalized_text("STRASSE")
    assert normalized_text("foo bar.") != "foo bar"


@pytest.fixture(scope="module")
def mined_inputs(tmp_path_factory):
    """Rows whose positive is ``answer i``; row 0's positive has two near-copies elsewhere
    in the corpus: one equal after normalization, one whose vector is almost its own."""
    d = tmp_path_factory.mktemp("near")
    rows = [[f"question {i}", f"Answer number {i}, in full."] for i in range(N_ROWS)]
    rows.append(["question about copies", "ANSWER  number 0, in full."])  # normalized copy of row 0's
    rows.append(["question about vectors", "A reworded answer zero."])  # its vector: row 0's + noise
    raw = d / "pairs.jsonl.gz"
    with gzip.open(raw, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    files = {k: d / f"{k}.parquet" for k in ("queries", "passages", "qrels")}
    prepare_dataset("pairs", raw, (files["queries"], files["passages"], files["qrels"]), d / "prep.json")
    rng = np.random.default_rng(0)
    n = len(rows)
    p = rng.normal(size=(n, 32)).astype(np.float32)
    p[n - 1] = p[0] + 0.05 * rng.normal(size=32)  # cosine about 0.999 to row 0's positive
    p[n - 2] = p[0] + 0.9 * rng.normal(size=32)  # the normalized copy: a different vector
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    q = p + 0.3 * rng.normal(size=p.shape).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    np.save(d / "q.npy", q.astype(np.float32))
    np.save(d / "p.npy", p)
    search_files([d / "q.npy"], d / "p.npy", 0, d / "ids.npy", d / "scores.npy", topk=n)
    merge_shards([d / "ids.npy"], [d / "scores.npy"], n, d / "candidates.parquet")
    positive_scores([d / "q.npy"], [d / "p.npy"], files["qrels"], d / "positive_scores.parquet")
    return d, files


def _mine(d, files, **overrides):
    opts = MiningOptions(**{**PRESETS["seed"], "range_min": 0, "sampling_strategy": "top", **overrides})
    out = d / f"mined-{len(list(d.glob('mined-*.jsonl')))}.jsonl"
    inputs = Files(
        queries=files["queries"],
        passages=files["passages"],
        candidates=d / "candidates.parquet",
        positive_scores=d / "positive_scores.parquet",
        cache_stats=[],  # tables written here, not by merge: no fingerprints
        passage_vectors=[d / "p.npy"],
    )
    stats = mine.run(inputs, Files(mined=out, stats=out.with_suffix(".json")), MineJob(dataset="d", mining=opts))
    rows = [json.loads(line) for line in out.open()]
    return {r["query"]: [n["text"] for n in r["negative_passages"]] for r in rows}, stats


def test_near_copies_pass_the_exact_checks_and_each_filter_catches_its_kind(mined_inputs):
    d, files = mined_inputs
    copy_text, copy_vector = "ANSWER  number 0, in full.", "A reworded answer zero."
    plain, stats = _mine(d, files)
    assert copy_vector in plain["question 0"]  # the closest candidate
    assert copy_text in plain["question 0"]
    assert stats["removed"]["positive_normalized_text"] == stats["removed"]["positive_similarity"] == 0

    norm, stats = _mine(d, files, exclude_normalized_text=True)
    assert copy_text not in norm["question 0"] and copy_vector in norm["question 0"]
    # row 0 and the copy's own row each lose the other (they are copies of each other)
    assert stats["removed"]["positive_normalized_text"] == 2

    sim, stats = _mine(d, files, max_positive_similarity=0.99)
    assert copy_vector not in sim["question 0"] and copy_text in sim["question 0"]
    assert stats["removed"]["positive_similarity"] == 2
    assert stats["negatives_kept"] + sum(stats["removed"].values()) == stats["candidates_considered"]
    # rows without a near-copy keep the same negatives
    for q in (f"question {i}" for i in range(1, N_ROWS)):
        assert sim[q] == plain[q] == norm[q], q
