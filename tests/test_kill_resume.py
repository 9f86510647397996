"""SIGKILL the whole workflow mid-stage, resume, and check that finished files were kept
(same inode and mtime) and that the final output is byte-identical to a clean run.

One folder is killed three times, once in each long stage (embed, search, mine): each
resume starts from what the kills before it left, as a crashed cluster run would."""

from __future__ import annotations

from base64 import urlsafe_b64encode
from pathlib import Path

import pytest

from conftest import demo_config, kill_workflow_when, run_snakemake, write_config

pytestmark = pytest.mark.workflow

DATASETS = ["squad_pairs", "hotpotqa"]


def _config(wd: Path) -> Path:
    return write_config(wd / "c.yaml", demo_config(datasets=DATASETS, shards=3, embed={"block_rows": 8}))


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


def _kill_when(wd: Path, cfg: Path, pattern: str, at_least: int) -> None:
    """Start the workflow, SIGKILL its whole process group once ``at_least`` files match."""

    def ready() -> bool:
        return len(_finished(wd, pattern)) >= at_least and (wd / ".snakemake" / "incomplete").is_dir()

    kill_workflow_when(wd, cfg, ready)


KILL_POINTS = (
    # stage, the files it writes, how many must be finished before the kill
    ("embed", "results/embeddings/*/*/3shards/passages.*.npy", 2),
    ("search", "results/search/*/top100/*/3shards/ids.*.npy", 2),
    ("mine", "retrieval/original/*.jsonl", 1),
)


def test_sigkill_in_each_stage_then_resume(tmp_path, demo_run):
    cfg = _config(tmp_path)
    kept: dict[Path, tuple[int, int]] = {}
    for stage, pattern, at_least in KILL_POINTS:
        if kept:  # README "Resuming after a crash": unlock, then rerun
            run_snakemake(tmp_path, cfg, "--unlock")
        _kill_when(tmp_path, cfg, pattern, at_least)
        done = _finished(tmp_path, pattern)
        all_outputs = len(DATASETS) * (3 if stage != "mine" else 1)
        assert at_least <= len(done) < all_outputs, f"kill in {stage} came too late to test a resume: {done}"
        for p, stamp in kept.items():
            assert (p.stat().st_ino, p.stat().st_mtime_ns) == stamp, f"{p} was recomputed after the kill in {stage}"
        kept.update({p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in done})

    run_snakemake(tmp_path, cfg, "--unlock")
    run_snakemake(tmp_path, cfg, "--cores", "2")  # rerun-incomplete is in the default profile

    for p, stamp in kept.items():
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == stamp, f"{p} was recomputed"
    # the clean run: the shared demo (1 or 2 shards, 32-row blocks), the same bytes
    for ds in DATASETS:
        assert (tmp_path / f"retrieval/original/{ds}.jsonl").read_bytes() == (
            demo_run[0] / f"retrieval/original/{ds}.jsonl"
        ).read_bytes(), ds
