"""Cross-encoder rescoring through the workflow, with a tiny CrossEncoder built and saved
by the test itself (no download)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import AFTER_MINE, demo_config, planned_jobs, run_snakemake, tiny_model, write_config

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("ce") / "tiny-ce", "cross")


@pytest.fixture(scope="module")
def shared_folder(tmp_path_factory):
    """One folder for this module's runs: they share the embed, search and rescore jobs
    (the same model and cross-encoder) and mine into output folders of their own."""
    return tmp_path_factory.mktemp("rescore")


def test_rescoring_reranks_and_margins_use_cross_encoder_scores(shared_folder, tiny_cross_encoder):
    tmp_path = shared_folder
    from sentence_transformers import CrossEncoder

    cfg = demo_config(
        datasets=["squad_pairs"],
        mining={"preset": "percpos95", "output_scores": True},
        cross_encoder={"name_or_path": str(tiny_cross_encoder), "batch_size": 16, "max_length": 128},
    )
    cfg_path = write_config(tmp_path / "ce.yaml", cfg)
    run_snakemake(tmp_path, cfg_path, "--cores", "2")

    (table,) = tmp_path.glob("results/search/*/top100/squad_pairs/ce-*/candidates.parquet")  # rescore's output
    rescored = pq.read_table(table)
    queries = pq.read_table(tmp_path / "results/prepared/squad_pairs/queries.parquet").column("text").to_pylist()
    passages = pq.read_table(tmp_path / "results/prepared/squad_pairs/passages.parquet").column("text").to_pylist()
    rows = [r for r in rescored.to_pylist() if r["query_idx"] == 0]
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and [r["rank"] for r in rows] == list(range(len(rows)))
    ce = CrossEncoder(str(tiny_cross_encoder), device="cpu", max_length=128)
    direct = ce.predict([(queries[0], passages[r["passage_idx"]]) for r in rows], batch_size=16)
    assert np.allclose(direct, scores, atol=1e-4)

    (mined,) = (tmp_path / "retrieval/original").glob("squad_pairs.tevatron-*.jsonl")  # its settings' file
    for line in mined.open():
        rec = json.loads(line)
        low = min(p["score"] for p in rec["positive_passages"])
        for n in rec["negative_passages"]:
            assert n["score"] <= low - abs(low) * 0.05 + 1e-6

    # turning rescoring off again re-plans mining only: nothing is embedded or searched
    cfg["cross_encoder"] = {"name_or_path": ""}
    jobs = planned_jobs(run_snakemake(tmp_path, write_config(tmp_path / "off.yaml", cfg), "-n", "--cores", "2"))
    assert set(jobs) <= AFTER_MINE and jobs.get("mine") == 1, jobs


def test_the_cross_encoder_judge_relabels_or_drops_what_it_calls_relevant(shared_folder, tiny_cross_encoder):
    """relabel: every window candidate scoring at least the query's lowest positive moves
    to the positives; drop: it disappears. Switching between them re-runs mine only."""
    tmp_path = shared_folder
    out = tmp_path / "retrieval/judge"
    cfg = demo_config(
        datasets=["squad_pairs"],
        output_dir="retrieval/judge",
        mining={"output_scores": True},
        cross_encoder={"name_or_path": str(tiny_cross_encoder), "batch_size": 16, "max_length": 128},
    )
    cfg["cross_encoder"]["false_negatives"] = "relabel"
    run_snakemake(tmp_path, write_config(tmp_path / "relabel.yaml", cfg), "--cores", "2")
    rescored = pq.read_table(next(tmp_path.glob("results/search/*/top100/squad_pairs/ce-*/candidates.parquet")))
    pos = pq.read_table(next(tmp_path.glob("results/search/*/top100/squad_pairs/ce-*/positive_scores.parquet")))
    docid = pq.read_table(tmp_path / "results/prepared/squad_pairs/passages.parquet").column("docid").to_pylist()
    lowest: dict[int, float] = {}
    for q, s in zip(pos.column("query_idx").to_pylist(), pos.column("score").to_pylist(), strict=True):
        lowest[q] = min(s, lowest.get(q, s))
    own = {(q, p) for q, p in zip(*(pos.column(c).to_pylist() for c in ("query_idx", "passage_idx")), strict=True)}
    judged: dict[int, set] = {}
    for r in rescored.to_pylist():
        q, p = r["query_idx"], r["passage_idx"]
        if 2 <= r["rank"] < 100 and r["score"] >= lowest[q] and (q, p) not in own:
            judged.setdefault(q, set()).add(docid[p])
    assert sum(map(len, judged.values())) > 0  # the random judge calls some negatives relevant

    def rows():
        (mined,) = out.glob("squad_pairs.tevatron-*.jsonl")
        return {int(r["query_id"].split("-")[1]): r for r in map(json.loads, mined.open())}

    relabelled = rows()
    (stats_path,) = (out / "stats").glob("squad_pairs.tevatron-*.jsonl.mine_stats.json")
    stats = json.loads(stats_path.read_text())
    for q, rec in relabelled.items():
        positives = {p["docid"] for p in rec["positive_passages"]}
        negatives = {n["docid"] for n in rec["negative_passages"]}
        assert judged.get(q, set()) <= positives and not judged.get(q, set()) & negatives, q
    fn = stats["false_negatives"]
    assert fn["judged_relevant"] == stats["removed"]["judged_positive"] == sum(map(len, judged.values()))
    assert fn["positives_added"] == sum(len(judged.get(q, ())) for q in relabelled)
    assert 0 < fn["estimated_rate"] == pytest.approx(fn["judged_relevant"] / fn["window_candidates"], abs=1e-6)
    assert stats["negatives_kept"] + sum(stats["removed"].values()) == stats["candidates_considered"]

    cfg["cross_encoder"]["false_negatives"] = "drop"
    drop_cfg = write_config(tmp_path / "drop.yaml", cfg)
    jobs = planned_jobs(run_snakemake(tmp_path, drop_cfg, "-n"))
    assert set(jobs) <= AFTER_MINE and jobs.get("mine") == 1, jobs
    run_snakemake(tmp_path, drop_cfg, "--cores", "2")
    for q, rec in rows().items():
        passages = {p["docid"] for p in rec["positive_passages"] + rec["negative_passages"]}
        assert not judged.get(q, set()) & passages, q
        assert len(rec["positive_passages"]) == len(relabelled[q]["positive_passages"]) - len(judged.get(q, ()))
