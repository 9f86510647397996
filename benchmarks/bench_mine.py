"""Mine stage throughput: this version against an earlier one, on the same cached tables.

    python benchmarks/bench_mine.py RESULTS_DIR DATASET [OLD_GIT_REV] [TIMEOUT_S] [PRESETS]

RESULTS_DIR is a workflow's ``results`` folder after a run (prepared tables and the
candidate table). OLD_GIT_REV defaults to f81c61a, the last commit with the per-candidate
Python loop. Each (version, preset) runs in its own subprocess; the script prints wall
time, microseconds per query and peak RSS, and the ratio old / new. An old run still
going after TIMEOUT_S (default 1200) is stopped and shown as a lower bound (">").
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
try:  # the mine module: grouped under mining, or (an older version) flat
    pkg = __import__(sys.argv[2] + ".mining.mine", fromlist=["mine"])
except ModuleNotFoundError:
    pkg = __import__(sys.argv[2] + ".mine", fromlist=["mine"])
from hardneg.options import PRESETS
args = json.loads(sys.argv[3])
preset = PRESETS[args["preset"]]
opts = pkg.MiningOptions.from_dict(preset) if hasattr(pkg.MiningOptions, "from_dict") else pkg.MiningOptions(**preset)
t = time.perf_counter()
if hasattr(pkg, "mine_dataset"):  # before the stages took run(inputs, outputs, options)
    st = pkg.mine_dataset(args["q"], args["p"], args["c"], args["s"], args["out"], args["out"] + ".json", opts)
else:
    from types import SimpleNamespace as F
    # the job class: in the stage module (hardneg.stages), in the mine module before it
    job_class = getattr(pkg, "MineJob", None) or __import__("hardneg.stages.mine", fromlist=["MineJob"]).MineJob
    inputs = F(queries=args["q"], passages=args["p"], candidates=args["c"], positive_scores=args["s"],
               cache_stats=args["c"].replace(".parquet", ".stats.json"))
    job = job_class(dataset=args["dataset"], mining=opts)
    st = pkg.run(inputs, F(mined=args["out"], stats=args["out"] + ".json"), job)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": wall, "queries": st["queries"], "rss_mb": rss}))
"""


def main(
    results: str, dataset: str, old_rev: str = "f81c61a", timeout: str = "1200", presets: str = "seed,percpos95"
) -> None:
    prep = f"{results}/prepared/{dataset}"
    cands = sorted(glob.glob(f"{results}/search/*/top*/{dataset}/candidates.parquet"))
    if not cands:
        sys.exit(f"no candidates.parquet for {dataset} under {results}/search")
    c = cands[0]
    work = Path(tempfile.mkdtemp(prefix="bench-mine-"))
    try:
        # the whole package as it was at old_rev (src/hardneg, or workflow_scripts/hnm before
        # it was installable), importable as hnm_old
        tree = subprocess.run(["git", "-C", str(REPO), "ls-tree", "-d", "--name-only", old_rev, "src/hardneg"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        where = "src/hardneg" if tree.strip() else "workflow_scripts/hnm"
        tar = subprocess.run(["git", "-C", str(REPO), "archive", old_rev, where], capture_output=True, check=True)
        tar = tar.stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=tar, check=True)
        shutil.move(work / where, work / "hnm_old")
        (work / "child.py").write_text(CHILD)
        env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}"}
        for preset in presets.split(","):
            res = {}
            for label, pkg in (("old", "hnm_old"), ("new", "hardneg")):
                args = {
                    "q": f"{prep}/queries.parquet",
                    "p": f"{prep}/passages.parquet",
                    "c": c,
                    "s": c.replace("candidates.parquet", "positive_scores.parquet"),
                    "out": str(work / f"{label}-{preset}.jsonl"),
                    "preset": preset,
                    "dataset": dataset,
                }
                t0 = time.perf_counter()
                try:
                    p = subprocess.run(
                        [sys.executable, str(work / "child.py"), str(work), pkg, json.dumps(args)],
                        capture_output=True,
                        text=True,
                        env=env,
                        timeout=float(timeout),
                    )
                except subprocess.TimeoutExpired:
                    res[label] = {"wall": time.perf_counter() - t0, "queries": None, "rss_mb": float("nan"), "cut": 1}
                    continue
                if p.returncode:
                    sys.exit(p.stderr[-3000:])
                res[label] = json.loads(p.stdout.strip().splitlines()[-1])
            o, n = res["old"], res["new"]
            nq = n["queries"]
            cut = ">" if o.get("cut") else ""  # old run stopped at the timeout: a lower bound
            print(
                f"{dataset} {preset}: {nq} queries | old {cut}{o['wall']:.1f} s = {cut}{1e6 * o['wall'] / nq:.0f} "
                f"us/query, {o['rss_mb']:.0f} MB | new {n['wall']:.1f} s = {1e6 * n['wall'] / nq:.1f} us/query, "
                f"{n['rss_mb']:.0f} MB | old/new {cut}{o['wall'] / n['wall']:.1f}x",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
