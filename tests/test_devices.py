"""Device choice without GPUs: the per-GPU slot lock (faked device counts, real flock
across processes), fp16 never falling back to the CPU, and the cache folder's marker."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hardneg import devices
from hardneg.devices import acquire_gpu_slot, release_gpu_slot
from hardneg.encode.embed import claim_vector_kind, resolve_precision

REPO = Path(__file__).resolve().parents[1]


def _hold_slot_in_child(lock_dir: Path, n: int) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        from hardneg.devices import acquire_gpu_slot
        print(acquire_gpu_slot({n}, {str(lock_dir)!r}, wait=5), flush=True)
        time.sleep(30)
    """)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_each_concurrent_job_gets_its_own_gpu(tmp_path):
    """Four processes on a 4-GPU machine take slots 0..3; a fifth waits (here: gives up)."""
    children = [_hold_slot_in_child(tmp_path, 4) for _ in range(4)]
    try:
        got = sorted(int(c.stdout.readline()) for c in children)
        assert got == [0, 1, 2, 3]
        assert acquire_gpu_slot(4, tmp_path, wait=0.6) is None
        children[2].kill()
        children[2].wait()
        slot = acquire_gpu_slot(4, tmp_path, wait=5)  # the killed job's lock died with it
        assert slot in range(4)
        release_gpu_slot()
    finally:
        for c in children:
            c.kill()
            c.wait()


def test_pick_device_honours_hardneg_device_and_uses_the_slot(monkeypatch, tmp_path):
    import torch

    monkeypatch.setenv("HARDNEG_GPU_LOCK_DIR", str(tmp_path))
    monkeypatch.setattr(devices, "no_gpu_driver", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    monkeypatch.setenv("HARDNEG_DEVICE", "cuda:7")
    assert devices.pick_device() == "cuda:7"
    monkeypatch.delenv("HARDNEG_DEVICE")
    holders = [_hold_slot_in_child(tmp_path, 3) for _ in range(2)]
    try:
        assert sorted(int(h.stdout.readline()) for h in holders) == [0, 1]
        assert devices.pick_device() == "cuda:2"
        release_gpu_slot()
    finally:
        for h in holders:
            h.kill()
            h.wait()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.pick_device() == "cpu"


def test_auto_on_a_machine_without_a_gpu_driver_is_the_cpu_without_importing_torch(tmp_path):
    """Search and rescore jobs on a CPU machine skip the 2 to 3 s of importing torch."""
    code = (
        "import sys; from hardneg import devices\n"
        "devices.GPU_DRIVER_FILES = (sys.argv[1],)\n"
        "print(devices.pick_device('auto'), 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "HARDNEG_DEVICE"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "no-driver")], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    assert out == ["cpu", "False"]


def test_precision_never_falls_back_silently():
    assert resolve_precision("auto", "cuda:0") == "fp16"
    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("fp32", "cuda:1") == "fp32"
    with pytest.raises(RuntimeError, match="embed.precision is fp16 but this job runs on cpu"):
        resolve_precision("fp16", "cpu")


class _Param:
    def __init__(self, dtype):
        self.dtype = dtype


class _Model:
    def __init__(self, dtype, device):
        import torch

        self._p = [_Param(dtype)]
        self.device = torch.device(device)

    def parameters(self):
        return iter(self._p)


def test_cache_folder_never_mixes_gpu_and_cpu_shards(tmp_path):
    import torch

    folder = tmp_path / "emb" / "3shards"
    assert claim_vector_kind(folder, _Model(torch.float16, "cuda")) == "fp16-cuda"
    assert claim_vector_kind(folder, _Model(torch.float16, "cuda")) == "fp16-cuda"
    with pytest.raises(RuntimeError, match="hold fp16-cuda vectors, but this job makes fp32-cpu"):
        claim_vector_kind(folder, _Model(torch.float32, "cpu"))


def test_cache_key_moves_with_what_changes_the_vectors(tmp_path):
    """The embeddings folder changes with precision, revision and model settings, and not
    with mining or search settings (planned as rules/common.smk plans: its folder is
    ``results/embeddings/{PLAN.embed_key}``)."""
    from conftest import REPO, demo_config
    from hardneg.plan import checked_plan

    def key(**over):
        cfg = demo_config(datasets=["squad_pairs"], **over)
        return {checked_plan(cfg, REPO / "workflow" / "schemas" / "config.schema.yaml").embed_key}

    base = key()
    assert len(base) == 1
    assert key(embed={"precision": "fp16"}) != base
    assert key(model={"revision": "0123abc"}) != base
    assert key(mining={"num_negatives": 4}) == base
    assert key(search={"topk": 120, "index": "ivf"}) == base
