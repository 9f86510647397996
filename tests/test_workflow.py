"""The real workflow through snakemake: demo run, dry runs, determinism, rerun scope."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import AFTER_MINE, PLAN_ONLINE, demo_config, planned_jobs, run_snakemake, write_config

pytestmark = pytest.mark.workflow

ALL16 = list(demo_config()["datasets"])
TEVATRON_KEYS = {"query_id", "query", "positive_passages", "negative_passages"}


def _one(wd: Path, pattern: str) -> Path:
    hits = sorted(wd.glob(pattern))
    assert len(hits) == 1, (pattern, hits)
    return hits[0]


def test_demo_outputs_hold_the_invariants(demo_run):
    wd, _ = demo_run
    assert len(ALL16) == 16
    for ds in ALL16:
        out = wd / "retrieval" / "original" / f"{ds}.jsonl"
        lines = out.read_text(encoding="utf-8").splitlines()
        assert lines, ds
        queries = pq.read_table(wd / f"results/prepared/{ds}/queries.parquet").column("query_id").to_pylist()
        passages = pq.read_table(wd / f"results/prepared/{ds}/passages.parquet").column("docid").to_pylist()
        cand = pq.read_table(_one(wd, f"results/search/*/top100/{ds}/candidates.parquet")).to_pylist()
        rank_of = {(queries[r["query_idx"]], passages[r["passage_idx"]]): r["rank"] for r in cand}
        for line in lines:
            rec = json.loads(line)
            assert set(rec) == TEVATRON_KEYS
            assert isinstance(rec["query"], str) and rec["query"]
            for p in rec["positive_passages"] + rec["negative_passages"]:
                assert set(p) == {"docid", "title", "text"}
            negs = rec["negative_passages"]
            assert 1 <= len(negs) <= 16, (ds, rec["query_id"])
            pos_ids = {p["docid"] for p in rec["positive_passages"]}
            pos_texts = {(p["title"], p["text"]) for p in rec["positive_passages"]}
            for n in negs:
                assert n["docid"] not in pos_ids
                assert (n["title"], n["text"]) not in pos_texts
                assert 2 <= rank_of[(rec["query_id"], n["docid"])] < 100  # seed window: raw ranks 2..99
    summary = (wd / "retrieval/original/summary.md").read_text()
    assert all(f"| {ds} |" in summary for ds in ALL16)


def test_the_output_folder_is_a_dataset_with_a_config_per_demo_dataset(demo_run, tmp_path, monkeypatch):
    from datasets import load_dataset

    wd, _ = demo_run
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path))  # datasets' own cache, not the user's
    out = wd / "retrieval" / "original"
    for ds in ALL16:
        loaded = load_dataset(str(out), ds, split="train")
        rows = [json.loads(line) for line in (out / f"{ds}.jsonl").open(encoding="utf-8")]
        assert loaded.num_rows == len(rows) and loaded.column_names == list(rows[0]), ds
        assert loaded[0] == rows[0], ds


def test_hotpotqa_demo_mines_only_train_queries(demo_run):
    wd, _ = demo_run
    train = {
        line.split("\t")[0]
        for line in (Path(demo_config()["datasets"]["hotpotqa"]["source"]) / "qrels/train.tsv")
        .read_text()
        .splitlines()[1:]
    }
    mined = {json.loads(line)["query_id"] for line in (wd / "retrieval/original/hotpotqa.jsonl").open()}
    assert mined == train


def test_changing_mining_replans_only_mine(demo_run):
    wd, _ = demo_run
    cfg = write_config(wd / "mining.yaml", demo_config(mining={"preset": "seed", "num_negatives": 8}))
    jobs = planned_jobs(run_snakemake(wd, cfg, "-n", "--cores", "2"))
    assert jobs.get("mine") == 16
    assert set(jobs) <= AFTER_MINE, jobs


def test_up_to_date_demo_plans_nothing(demo_run):
    wd, cfg = demo_run
    proc = run_snakemake(wd, cfg, "-n", "--cores", "2")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_real_config_dry_run_plans_all_16_without_downloading(tmp_path, repo):
    shutil.copytree(repo / "config", tmp_path / "config")
    proc = run_snakemake(tmp_path, None, "-n", "--cores", "8", env=PLAN_ONLINE)
    jobs = planned_jobs(proc)
    assert jobs["mine"] == 16 and jobs["prepare"] == 16
    assert jobs["download"] == 16  # 15 hub files and one http zip, one rule
    text = proc.stdout + proc.stderr
    assert all(f"retrieval/original/{ds}.jsonl" in text for ds in ALL16)
    assert not (tmp_path / "resources").exists()


def _mined_bytes(wd: Path, datasets) -> dict[str, bytes]:
    return {ds: (wd / "retrieval/original" / f"{ds}.jsonl").read_bytes() for ds in datasets}


def test_byte_identical_across_shards_cores_and_runs(demo_run, tmp_path):
    """A second run in a new folder with every knob that must not matter changed at once:
    3 shards (the demo has 1), one core (the demo two), 8-row embed blocks (the demo 32).
    Its mined file equals the shared demo run's, byte for byte. Here the medmcqa loader;
    squad_pairs (a pairs file) and hotpotqa (BeIR) go through the same knobs, and three
    kills, in tests/test_kill_resume.py."""
    datasets = ["medmcqa"]
    cfg = write_config(tmp_path / "c.yaml", demo_config(datasets=datasets, shards=3, embed={"block_rows": 8}))
    run_snakemake(tmp_path, cfg, "--cores", "1")
    assert len(list(tmp_path.glob("results/embeddings/*/medmcqa/3shards/passages.*.npy"))) == 3
    assert _mined_bytes(tmp_path, datasets) == _mined_bytes(demo_run[0], datasets)


def test_file_url_and_plain_path_are_used_in_place(tmp_path, repo):
    cfg = demo_config(datasets=["squad_pairs", "hotpotqa"])
    cfg["datasets"]["squad_pairs"]["source"] = f"file://{repo}/.test/data/squad_pairs.jsonl.gz"
    proc = run_snakemake(tmp_path, write_config(tmp_path / "c.yaml", cfg), "-n", "--cores", "1")
    jobs = planned_jobs(proc)
    assert jobs["prepare"] == 2 and not any(r.startswith("download") for r in jobs), jobs
    text = proc.stdout + proc.stderr
    assert f"input: {repo}/.test/data/squad_pairs.jsonl.gz" in text
    assert f"input: {repo}/.test/data/hotpotqa" in text


def test_long_stages_log_progress_and_every_job_has_a_benchmark_file(demo_run):
    wd, _ = demo_run
    for stage in ("prepare", "embed", "search", "mine"):
        logs = sorted((wd / "logs" / stage).rglob("*.log"))
        assert logs, stage
        for log in logs:
            text = log.read_text()
            assert re.search(r"elapsed \d+m\d\ds, [\d,]+ \w+/s, ETA \d+m\d\ds", text), (stage, log, text[-500:])
    bench = wd / "logs" / "benchmarks"
    # other tests mine into other output folders here too: the demo's own are under
    # retrieval_original (the output folder's key)
    for stage, jobs in (
        ("prepare", 16),
        ("embed", 17),
        ("search", 17),
        ("merge", 16),
        ("mine/retrieval_original", 16),
        ("card/retrieval_original", 16),
        ("plots/retrieval_original", 16),
        ("examples/retrieval_original", 16),
    ):
        files = sorted((bench / stage).rglob("*.tsv"))
        assert len(files) == jobs, (stage, len(files))
        head, row = files[0].read_text().splitlines()[:2]
        assert head.split("\t")[:3] == ["s", "h:m:s", "max_rss"] and float(row.split("\t")[0]) >= 0
    assert (bench / "report" / "retrieval_original.tsv").exists()


def test_queries_that_are_also_passages_share_one_vector_end_to_end(tmp_path_factory, repo):
    """Duplicate-question data: rows are also written reversed, so most query texts are
    passages too. Those queries are not encoded (their rows stay zero and the embed stats
    count them), and the mined files are still byte-identical for 1 and 2 shards."""
    import gzip
    import json

    import numpy as np

    src = repo / ".test/data/stackexchange_duplicate_questions_title-body_title-body.jsonl.gz"
    rows = [json.loads(line) for line in gzip.open(src, "rt", encoding="utf-8")]
    rows = [r for r in rows if isinstance(r, list)]
    data = tmp_path_factory.mktemp("twins_data") / "dups.jsonl.gz"
    with gzip.open(data, "wt", encoding="utf-8") as fh:
        for r in rows + [r[::-1] for r in rows[:25]]:
            fh.write(json.dumps(r) + "\n")
    mined = {}
    for shards in (1, 2):
        wd = tmp_path_factory.mktemp(f"twins{shards}")
        cfg = demo_config(datasets=[], shards=shards, embed={"block_rows": 8})
        cfg["datasets"] = {"dups": {"format": "pairs", "source": str(data), "shards": shards}}
        run_snakemake(wd, write_config(wd / "c.yaml", cfg), "--cores", "2")
        twins = np.load(wd / "results/prepared/dups/query_twins.npy")
        assert (twins >= 0).sum() >= 25
        emb = next((wd / "results/embeddings").glob(f"*/dups/{shards}shards"))
        stats = [json.loads((emb / f"stats.{s}.json").read_text()) for s in range(shards)]
        assert sum(s["queries"]["shared_with_passages"] for s in stats) == (twins >= 0).sum()
        q = np.concatenate([np.load(emb / f"queries.{s}.npy") for s in range(shards)])
        assert not q[twins >= 0].any() and np.abs(q[twins < 0]).sum(axis=1).min() > 0
        mined[shards] = (wd / "retrieval/original/dups.jsonl").read_bytes()
    assert mined[1] == mined[2] and mined[1]
