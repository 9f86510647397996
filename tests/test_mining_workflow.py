"""Mining options through the real workflow, on the cached demo candidates: presets,
output formats, what re-runs, and settings rejected before any job runs."""

from __future__ import annotations

import json

import pytest

from conftest import AFTER_MINE, DEMO_FOLDER, demo_config, planned_jobs, run_snakemake, write_config
from hardneg.formats import file_tag
from hardneg.options import MiningOptions
from hardneg.plan import resolve_mining

pytestmark = [pytest.mark.workflow, DEMO_FOLDER]

SUBSET = ["squad_pairs", "gooaq_pairs", "searchQA_top5_snippets", "hotpotqa"]


def _mine(wd, name, **mining):
    """Only the mined files (and their stats) of every demo dataset, into retrieval/NAME;
    (the run, the folder, what follows ``DATASET.`` in the file names)."""
    cfg = write_config(wd / f"{name}.yaml", demo_config(output_dir=f"retrieval/{name}", mining=mining))
    ext = file_tag(MiningOptions(**resolve_mining({"preset": "seed", **mining}, None)))
    targets = [f"retrieval/{name}/{ds}.{ext}" for ds in demo_config()["datasets"]]
    proc = run_snakemake(wd, cfg, "--cores", "2", *targets)
    return proc, wd / "retrieval" / name, ext


def test_percpos95_filters_and_accounts(demo_run):
    wd, _ = demo_run
    proc, out, ext = _mine(wd, "percpos95", preset="percpos95", output_scores=True)
    ran = proc.stdout + proc.stderr
    assert "rule embed" not in ran and "rule search" not in ran and "rule merge" not in ran
    for ds in demo_config()["datasets"]:
        for line in (out / f"{ds}.{ext}").open():
            rec = json.loads(line)
            pos = rec["positive_passages"]
            low = min(p["score"] for p in pos)
            threshold = low - abs(low) * 0.05
            pos_ids = {p["docid"] for p in pos}
            pos_texts = {(p["title"], p["text"]) for p in pos}
            for n in rec["negative_passages"]:
                assert n["docid"] not in pos_ids and (n["title"], n["text"]) not in pos_texts
                assert n["text"] != rec["query"]
                assert n["score"] <= threshold + 1e-6, (ds, rec["query_id"], n["score"], threshold)
            # top sampling: negatives in rank order
            ranks = [n["rank"] for n in rec["negative_passages"]]
            assert ranks == sorted(ranks)
        stats = json.loads((out / "stats" / f"{ds}.{ext}.mine_stats.json").read_text())
        assert stats["negatives_kept"] + sum(stats["removed"].values()) == stats["candidates_considered"]
        assert stats["options"]["relative_margin"] == 0.05
        assert set(stats["positive_scores"]) >= {"mean", "p50", "p95"}


def test_flagembedding_format_loads_with_datasets(demo_run):
    from datasets import load_dataset

    wd, _ = demo_run
    _, out, ext = _mine(wd, "flag", output_format="flagembedding")
    ds = load_dataset("json", data_files=str(out / f"hotpotqa.{ext}"), split="train")
    assert ds.column_names == ["query", "pos", "neg"]
    assert all(1 <= len(n) <= 16 and p for p, n in zip(ds["pos"], ds["neg"], strict=True))


def test_tevatron_format_loads_with_datasets(demo_run):
    from datasets import load_dataset

    wd, _ = demo_run
    ds = load_dataset("json", data_files=str(wd / "retrieval/original/squad_pairs.jsonl"), split="train")
    assert ds.column_names == ["query_id", "query", "positive_passages", "negative_passages"]
    assert set(ds[0]["negative_passages"][0]) == {"docid", "title", "text"}


def test_sentence_transformers_format_loads_with_datasets(demo_run):
    from datasets import load_dataset

    wd, _ = demo_run
    _, out, ext = _mine(wd, "st", output_format="sentence-transformers", num_negatives=4)
    mined = out / f"searchQA_top5_snippets.{ext}"
    ds = load_dataset("parquet", data_files=str(mined), split="train")
    assert ds.column_names == ["anchor", "positive"] + [f"negative_{i}" for i in range(1, 5)]
    assert len(ds) > 0 and all(ds[f"negative_{i}"][0] for i in range(1, 5))
    # one row per (query, positive): searchQA rows have several positives
    assert len(ds) > len(set(ds["anchor"]))


@pytest.mark.parametrize(
    "mining",
    [
        {"preset": "percpos95"},
        {"output_format": "flagembedding"},
        {"sampling_strategy": "top", "range_min": 0},
        {"exclude_normalized_text": True, "max_positive_similarity": 0.9},
    ],
)
def test_switching_preset_format_or_filter_replans_only_mine(demo_run, mining):
    wd, _ = demo_run
    cfg = write_config(wd / "switch.yaml", demo_config(mining=mining))
    jobs = planned_jobs(run_snakemake(wd, cfg, "-n", "--cores", "2"))
    assert jobs.get("mine") == 16 and set(jobs) <= AFTER_MINE, jobs


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"mining": {"num_negatives": 120}}, "mining.num_negatives (120) is larger than the window"),
        ({"mining": {"range_max": 150}}, "mining.range_max (150) exceeds search.topk (100)"),
        ({"mining": {"range_min": 50, "range_max": 40}}, "mining.range_min (50) must be smaller than range_max"),
        ({"mining": {"min_negatives": 20}}, "mining.min_negatives (20) exceeds num_negatives (16)"),
        ({"mining": {"sampling_strategy": "best"}}, "sampling_strategy"),
        ({"mining": {"relative_margin": 1.5}}, "relative_margin"),
        ({"mining": {"num_negative": 3}}, "num_negative"),
        ({"search": {"topk": 0}}, "topk"),
    ],
)
def test_invalid_settings_rejected_before_any_job(tmp_path, overrides, message):
    cfg = write_config(tmp_path / "bad.yaml", demo_config(datasets=["squad_pairs"], **overrides))
    proc = run_snakemake(tmp_path, cfg, "--cores", "1", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert message in text, text[-3000:]
    assert not (tmp_path / "results").exists() and not (tmp_path / "retrieval").exists()


def test_dataset_names_cannot_escape_the_results_folder(tmp_path):
    cfg = demo_config(datasets=["squad_pairs"])
    cfg["datasets"]["../escape"] = cfg["datasets"].pop("squad_pairs")
    proc = run_snakemake(tmp_path, write_config(tmp_path / "bad.yaml", cfg), "-n", check=False)
    assert proc.returncode != 0 and "../escape" in proc.stdout + proc.stderr
