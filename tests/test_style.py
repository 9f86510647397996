"""The workflow's own style gates: snakemake --lint, snakefmt and ruff."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import PLAN_ONLINE, rule_blocks

BIN = Path(sys.executable).parent


def _run(repo, *cmd):
    env = {**os.environ, **PLAN_ONLINE}  # lint plans the real config, whose model is a hub id
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300, env=env)


def test_snakemake_lint_is_clean(repo):
    proc = _run(repo, str(BIN / "snakemake"), "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_snakefmt_check(repo):
    proc = _run(repo, str(BIN / "snakefmt"), "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check(repo):
    proc = _run(repo, str(BIN / "ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_rule_has_log_threads_resources_conda():
    blocks = rule_blocks()
    assert len(blocks) >= 7
    for name, block in blocks:
        for key in ("log:", "benchmark:", "threads:", "resources:", "conda:", "script:"):
            assert f"\n    {key}" in block, f"rule {name} lacks {key}"
