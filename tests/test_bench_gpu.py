"""benchmarks/bench_gpu.py end to end on the CPU at a small size: the one script a lent GPU
runs must run here first, and its JSON must hold every stage and the exactness figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.workflow


def test_bench_gpu_runs_on_the_cpu_and_reports_every_stage(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_gpu.py"), "--rows", "150", "--cores", "2"]
    cmd += ["--device", "cpu", "--batch-size", "32", "--check-queries", "60", "--workdir", str(tmp_path / "wd")]
    p = subprocess.run([*cmd, "--json", str(out)], capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(out.read_text())
    stages = got["workflow"]["stages"]
    for stage in ("prepare", "embed", "search", "merge", "mine", "examples", "card", "report"):
        assert stages[stage]["s"] > 0, stage
        assert "gpu_busy" in stages[stage], stage
    assert stages["embed"]["texts/s"] > 0 and stages["search"]["queries/s"] > 0 and stages["mine"]["queries/s"] > 0
    assert got["mine_hard_negatives"]["rows"] > 0 and got["speedup_vs_mine_hard_negatives"] > 0
    check = got["search_check"]
    assert check["queries_checked"] > 0
    # the CPU search is exact: every checked query's top-100 is the exact float64 one
    assert check["exact_top100_share"] == 1.0 and check["max_score_diff"] == 0.0
    assert got["vector_check"]["vectors"] == "fp32-cpu" and got["vector_check"]["min_cosine_to_cpu_fp32"] > 0.9999
