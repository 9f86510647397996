"""Deployed the Snakemake catalog's way: a folder outside the repo with its own Snakefile
that uses the workflow as a ``module``, and its own ``config/config.yaml``; and
``snakedeploy deploy-workflow`` on this repo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import PLAN_ONLINE, REPO, demo_config, run_snakemake

DATASETS = ["squad_pairs", "medmcqa", "hotpotqa"]

MODULE_SNAKEFILE = """\
configfile: "config/config.yaml"


module hardneg:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from hardneg
"""


@pytest.mark.workflow
def test_module_use_outside_the_repo_gives_the_in_repo_bytes(tmp_path_factory, demo_run):
    wd = tmp_path_factory.mktemp("deployed")
    (wd / "Snakefile").write_text(MODULE_SNAKEFILE.format(snakefile=REPO / "workflow" / "Snakefile"))
    (wd / "config").mkdir()
    (wd / "config" / "config.yaml").write_text(yaml.safe_dump(demo_config(datasets=DATASETS), sort_keys=False))
    run_snakemake(wd, None, "--cores", "2", snakefile=wd / "Snakefile")
    in_repo, _ = demo_run
    for ds in DATASETS:
        assert (wd / "retrieval/original" / f"{ds}.jsonl").read_bytes() == (
            in_repo / "retrieval/original" / f"{ds}.jsonl"
        ).read_bytes(), ds


def test_snakedeploy_lays_out_a_deployment(tmp_path):
    """From a clone of the committed repo (what a user's URL gives): config/ and the
    profiles are copied, and the Snakefile uses the workflow as a module."""
    clone, dest = tmp_path / "clone", tmp_path / "deployed"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    head = ["git", "-C", str(clone), "rev-parse", "--abbrev-ref", "HEAD"]
    branch = subprocess.run(head, capture_output=True, text=True, check=True).stdout.strip()
    snakedeploy = str(Path(sys.executable).with_name("snakedeploy"))
    cmd = [snakedeploy, "deploy-workflow", str(clone), str(dest), "--branch", branch]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    snakefile = (dest / "workflow" / "Snakefile").read_text()
    assert "module " in snakefile and "use rule * from" in snakefile
    assert (dest / "config" / "config.yaml").read_text() == (clone / "config" / "config.yaml").read_text()
    assert (dest / "config" / "README.md").exists()


def test_the_real_config_plans_from_a_deployed_copy(tmp_path):
    """The deployed config/config.yaml, used through the module, plans all 16 datasets."""
    (tmp_path / "Snakefile").write_text(MODULE_SNAKEFILE.format(snakefile=REPO / "workflow" / "Snakefile"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text((REPO / "config" / "config.yaml").read_text())
    proc = run_snakemake(tmp_path, None, "-n", snakefile=tmp_path / "Snakefile", env=PLAN_ONLINE)
    assert "mine" in proc.stdout and proc.stdout.count("rule mine:") == 16
