"""The demo through a real SLURM (slurmctld + slurmd + munge on localhost), with the
shipped profiles/slurm plus the local-only overrides: outputs must be byte-identical to
a local run, and the jobs must really have gone through SLURM."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from conftest import PLAN_ONLINE, REPO, demo_config, planned_jobs, run_snakemake, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

CONF_MARKER = "# written by hardneg's tests/test_slurm.py; removed when the test ends\n"
SLURM_CONF = """\
ClusterName=test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
StateSaveLocation={d}/state
SlurmdSpoolDir={spool}
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=20000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""

# The local cluster has no accounting database (sacct cannot answer), no account, and
# no GPU; these overrides stay here, on top of the real profile.
LOCAL_OVERRIDES = [
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
    "--default-resources",
    "slurm_partition=debug",
    "mem_mb=2000",
    "runtime=30",
    "--set-resources",
    "embed:gpu=0",
    "search:gpu=0",
]


def _sh(*cmd, env=None, timeout=120, check=True):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=check)


def _ensure_installed() -> None:
    if not all(
        shutil.which(b) or os.path.exists(f"/usr/sbin/{b}") for b in ("slurmctld", "slurmd", "sbatch", "munged")
    ):
        pytest.skip("SLURM is not installed (.ci/run installs Debian's slurmctld, slurmd, slurm-client and munge)")


def _munge_ok() -> bool:
    p = subprocess.run("munge -n | unmunge", shell=True, capture_output=True, text=True)
    return p.returncode == 0 and "Success" in p.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def _stop(pidfile: Path) -> None:
    """SIGTERM the daemon named by ``pidfile``, wait for it, then SIGKILL if need be."""
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def local_slurm(d: Path):
    """Start munged (if not running), slurmctld and slurmd; stop what we started."""
    _ensure_installed()
    d.mkdir(parents=True, exist_ok=True)
    (d / "state").mkdir(exist_ok=True)
    # slurmstepd makes a unix socket per job step in the spool folder, and such a path
    # holds at most 108 bytes: a pytest worker's temporary folder is too deep for it
    spool = Path(tempfile.mkdtemp(prefix="slurmd-"))
    conf = d / "slurm.conf"
    # own ports, so that another SLURM on this machine can neither block nor answer for ours
    conf.write_text(SLURM_CONF.format(d=d, spool=spool, ctld_port=_free_port(), slurmd_port=_free_port()))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    # srun inside a batch job does not see SLURM_CONF and reads the default path, so the
    # config also goes there for the test's duration. Only where no such file exists, or
    # where this test wrote it (its first line says so): a real cluster's file is never
    # touched, and the test skips there.
    system_conf = Path("/etc/slurm/slurm.conf")
    if system_conf.exists() and not system_conf.read_text(errors="replace").startswith(CONF_MARKER):
        pytest.skip(f"{system_conf} belongs to a real SLURM on this machine; the test will not overwrite it")
    started: list[Path] = []
    try:
        system_conf.parent.mkdir(parents=True, exist_ok=True)
        system_conf.write_text(CONF_MARKER + conf.read_text())
        if not _munge_ok():
            for sub in ("/run/munge", "/var/log/munge", "/var/lib/munge"):
                Path(sub).mkdir(parents=True, exist_ok=True)
                shutil.chown(sub, "munge", "munge")
            _sh("runuser", "-u", "munge", "--", "/usr/sbin/munged")
            started.append(Path("/run/munge/munged.pid"))
            deadline = time.monotonic() + 20
            while not _munge_ok():
                assert time.monotonic() < deadline, "munged did not come up"
                time.sleep(0.2)
        _sh("/usr/sbin/slurmctld", "-f", str(conf), env=env)
        started.append(d / "slurmctld.pid")
        _sh("/usr/sbin/slurmd", "-N", "localhost", "-f", str(conf), env=env)
        started.append(d / "slurmd.pid")
        deadline = time.monotonic() + 60
        while "idle" not in _sh("sinfo", "-h", "-o", "%T", env=env, check=False).stdout:
            assert time.monotonic() < deadline, (d / "slurmctld.log").read_text()[-3000:]
            time.sleep(0.5)
        # the controller that answers must be the one we started, with our state folder
        shown = _sh("scontrol", "show", "config", env=env).stdout
        assert f"StateSaveLocation       = {d}/state" in shown, (d / "slurmctld.log").read_text()[-3000:]
        for pidfile in started[-2:]:
            assert _alive(int(pidfile.read_text().strip())), (d / pidfile.name.replace(".pid", ".log")).read_text()[
                -3000:
            ]
        yield env
    finally:
        for pidfile in reversed(started):
            _stop(pidfile)
        shutil.rmtree(spool, ignore_errors=True)
        system_conf.unlink(missing_ok=True)


DATASETS = ["squad_pairs"]


def test_demo_through_slurm_matches_local_run(tmp_path, demo_run):
    """The local run is the shared demo run (one squad_pairs shard, 32-row blocks); the
    SLURM run splits squad_pairs into 2 shards of 8-row blocks, and must not differ."""
    cfg = demo_config(datasets=DATASETS, shards=2, embed={"block_rows": 8})
    local_wd, slurm_wd = demo_run[0], tmp_path / "slurm"
    slurm_wd.mkdir()

    with local_slurm(tmp_path / "cluster") as env:
        proc = run_snakemake(
            slurm_wd,
            write_config(slurm_wd / "c.yaml", cfg),
            "--profile",
            str(REPO / "profiles" / "slurm"),
            *LOCAL_OVERRIDES,
            env={"SLURM_CONF": env["SLURM_CONF"]},
            timeout=1200,
        )
        text = proc.stdout + proc.stderr
        submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/([^/]+)/", text)
        assert submitted, text[-3000:]
        for jid, _ in submitted:  # the controller knows each one (MinJobAge keeps finished jobs listed)
            shown = _sh("scontrol", "show", "job", jid, env=env).stdout
            assert f"JobId={jid} " in shown and "JobState=COMPLETED" in shown, shown
        by_rule = [rule for _, rule in submitted]
        # 2 shards: one SLURM job per embed shard
        assert by_rule.count("rule_embed") == 2, by_rule
        assert by_rule.count("rule_search") == 2, by_rule
        assert "rule_download" not in by_rule

    for ds in DATASETS:
        a = (local_wd / f"retrieval/original/{ds}.jsonl").read_bytes()
        b = (slurm_wd / f"retrieval/original/{ds}.jsonl").read_bytes()
        assert a == b, ds


@pytest.mark.parametrize("cross_encoder", [False, True])
def test_slurm_profile_dry_run_plans_all_16(tmp_path, cross_encoder):
    shutil.copytree(REPO / "config", tmp_path / "config")
    extra = (
        ["--config", "cross_encoder={'name_or_path': 'cross-encoder/ms-marco-MiniLM-L6-v2'}"] if cross_encoder else []
    )
    proc = run_snakemake(tmp_path, None, "-n", "--profile", str(REPO / "profiles" / "slurm"), *extra, env=PLAN_ONLINE)
    text = proc.stdout + proc.stderr
    assert all(f"retrieval/original/{ds}.jsonl" in text for ds in demo_config()["datasets"])
    assert planned_jobs(proc).get("rescore", 0) == (16 if cross_encoder else 0), planned_jobs(proc)


def test_a_12_point_sweep_is_one_cluster_job_per_variant(tmp_path):
    """README's sweep arithmetic: 12 swept variants on HotpotQA under the SLURM profile."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    conf = tmp_path / "config" / "config.yaml"
    cfg = yaml.safe_load(conf.read_text())
    sweep = {"range_max": [30, 100], "sampling_strategy": ["top", "random"], "relative_margin": [None, 0.05, 0.1]}
    cfg["evaluate"] = {"datasets": ["hotpotqa"], "sweep": sweep}
    conf.write_text(yaml.safe_dump(cfg, sort_keys=False))
    profile = str(REPO / "profiles" / "slurm")
    proc = run_snakemake(tmp_path, None, "-n", "--profile", profile, "evaluation/hotpotqa.json", env=PLAN_ONLINE)
    jobs = planned_jobs(proc)
    # base, in_batch, shipped and 12 swept: each trained variant mined and trained by its own job
    assert jobs["score"] == 15 and jobs["train"] == jobs["eval_mine"] == 14, jobs
    assert "group" not in " ".join(line for line in (proc.stdout + proc.stderr).splitlines() if "eval_" in line)
