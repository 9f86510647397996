"""SIGKILL the whole workflow mid-stage, resume, and check that finished files were kept
(same inode and mtime) and that the final output is byte-identical to a clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from base64 import urlsafe_b64encode
from pathlib import Path

import pytest

from conftest import REPO, SNAKEMAKE, demo_config, run_snakemake, write_config

pytestmark = pytest.mark.workflow

DATASETS = ["squad_pairs", "hotpotqa"]


def _config(wd: Path) -> Path:
    return write_config(wd / "c.yaml", demo_config(datasets=DATASETS, shards=3, embed={"block_rows": 8}))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    wd = tmp_path_factory.mktemp("reference")
    run_snakemake(wd, _config(wd), "--cores", "2")
    return {ds: (wd / f"retrieval/original/{ds}.jsonl").read_bytes() for ds in DATASETS}


def _incomplete_marker(wd: Path, path: Path) -> Path:
    key = str(path.relative_to(wd))
    return wd / ".snakemake" / "incomplete" / urlsafe_b64encode(key.encode()).decode()


def _present(wd: Path, pattern: str) -> list[Path]:
    # declared outputs only: atomic writers use hidden .tmp names until the rename
    return sorted(p for p in wd.glob(pattern) if not p.name.startswith("."))


def _finished(wd: Path, pattern: str) -> list[Path]:
    """Outputs Snakemake has recorded as done: present, with no incomplete marker. A file
    renamed into place by a job that was killed before Snakemake saw it finish is rightly
    rerun, so it does not count."""
    return [p for p in _present(wd, pattern) if not _incomplete_marker(wd, p).exists()]


def _kill_when(wd: Path, cfg: Path, pattern: str, at_least: int, timeout: float = 600) -> None:
    """Start the workflow, SIGKILL its whole process group once ``at_least`` files match."""
    cmd = [
        SNAKEMAKE,
        "--snakefile",
        str(REPO / "workflow" / "Snakefile"),
        "--directory",
        str(wd),
        f"--configfile={cfg}",
        "--cores",
        "1",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=wd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while len(_finished(wd, pattern)) < at_least or not (wd / ".snakemake" / "incomplete").is_dir():
            assert proc.poll() is None, "workflow ended before the kill point"
            assert time.monotonic() < deadline, "kill point never reached"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize(
    "stage, pattern, at_least",
    [
        ("embed", "results/embeddings/*/*/3shards/passages.*.npy", 2),
        ("search", "results/search/*/top100/*/3shards/ids.*.npy", 2),
        ("mine", "retrieval/original/*.jsonl", 1),
    ],
)
def test_sigkill_then_resume(tmp_path, reference, stage, pattern, at_least):
    cfg = _config(tmp_path)
    _kill_when(tmp_path, cfg, pattern, at_least)
    done = _finished(tmp_path, pattern)
    all_outputs = len(DATASETS) * (3 if stage != "mine" else 1)
    assert at_least <= len(done) < all_outputs, f"kill came too late to test a resume: {done}"
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in done}

    # README "Resuming after a crash": unlock, then rerun (rerun-incomplete is in the default profile)
    run_snakemake(tmp_path, cfg, "--unlock")
    run_snakemake(tmp_path, cfg, "--cores", "2")

    for p, stamp in before.items():
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == stamp, f"{p} was recomputed"
    for ds in DATASETS:
        assert (tmp_path / f"retrieval/original/{ds}.jsonl").read_bytes() == reference[ds]
