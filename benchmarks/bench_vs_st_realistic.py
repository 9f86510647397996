"""Side by side at real size: the workflow through ``snakemake`` against
``sentence_transformers.util.mine_hard_negatives`` on the same 200k real-text pairs, with
the same fast stand-in encoder and equivalent settings, in one run.

    python benchmarks/bench_vs_st_realistic.py [ROWS] [--shape amazon|gooaq] [--rss-limit-gb 18]

``--shape`` picks the data (``make_realistic_pairs.py``): ``amazon`` has one query text on
12% of rows, ``gooaq`` has distinct queries.

Settings (NV-Retriever's TopK-PercPos, our ``percpos95`` preset): ranks 0..99, 16
negatives, top sampling, relative margin 0.05, identical anchors grouped. ST gets exactly
the pairs our prepare keeps (non-blank query and positive), ``use_faiss=True`` and its
``cache_folder``. Each tool runs in its own process; a watchdog stops ST above
``--rss-limit-gb`` and reports how far it got. Then both rerun after a change of
``num_negatives`` (ours re-runs only the mine step; ST reuses its embedding cache).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_realistic import CACHE, ensure_inputs, stage_table, write_run_config  # noqa: E402

SETTINGS = {"range_min": 0, "range_max": 100, "num_negatives": 16, "relative_margin": 0.05}

ST_CHILD = r"""
import json, os, sys, time, resource
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import mine_hard_negatives
torch.set_num_threads(2)
a = json.loads(sys.argv[1])
pairs = json.load(open(a["pairs"]))
t = time.perf_counter()
model = SentenceTransformer(a["model"], device="cpu")
ds = Dataset.from_dict({"anchor": [p[0] for p in pairs], "positive": [p[1] for p in pairs]})
common = dict(sampling_strategy="top", batch_size=256, use_faiss=True, verbose=False,
              output_format="n-tuple", cache_folder=a["cache"])
out = mine_hard_negatives(ds, model, **a["settings"], **common)
print(json.dumps({"phase": "cold", "wall": time.perf_counter() - t, "rows": len(out)}), flush=True)
t = time.perf_counter()
out = mine_hard_negatives(ds, model, **{**a["settings"], "num_negatives": 8}, **common)
print(json.dumps({"phase": "rerun", "wall": time.perf_counter() - t, "rows": len(out)}), flush=True)
"""


def kept_pairs(raw: Path) -> list[list[str]]:
    """The rows our prepare keeps, as [query, positive] (same filter, same order)."""
    out = []
    with gzip.open(raw, "rt", encoding="utf-8") as fh:
        for line in fh:
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)):
                continue
            try:
                v[0].encode("utf-8"), v[1].encode("utf-8")
            except UnicodeEncodeError:
                continue
            if v[0].strip() and v[1].strip():
                out.append(v)
    return out


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def run_st(model: Path, pairs_file: Path, cache: Path, limit_mb: float) -> dict:
    args = {"model": str(model), "pairs": str(pairs_file), "cache": str(cache), "settings": SETTINGS}
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", ST_CHILD, json.dumps(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak, killed = 0.0, False
    while proc.poll() is None:
        peak = max(peak, rss_mb(proc.pid))
        if peak > limit_mb:
            proc.kill()
            killed = True
            break
        time.sleep(0.25)
    out, err = proc.communicate()
    res = {"wall": time.perf_counter() - t, "peak_mb": peak, "killed": killed, "rc": proc.returncode}
    for line in out.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            res[d["phase"]] = d
    if not killed and proc.returncode:
        res["error"] = err[-2000:]
    return res


def run_ours(data: Path, model: Path, wd: Path, num_negatives: int | None = None) -> tuple[float, float, dict]:
    mining = {"num_negatives": num_negatives} if num_negatives else {}
    cmd = write_run_config(wd, data, model, "percpos95", **mining)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0.0
    while proc.poll() is None:  # the largest process of the run's tree
        kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        pids = [proc.pid] + [int(k) for k in kids]
        for k in kids:
            pids += [int(x) for x in subprocess.run(["pgrep", "-P", k], capture_output=True, text=True).stdout.split()]
        peak = max([peak] + [rss_mb(p) for p in pids])
        time.sleep(0.25)
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(proc.stdout.read()[-4000:])
    return wall, peak, stage_table(wd)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", nargs="?", type=int, default=200_000)
    ap.add_argument("--shape", default="amazon", choices=["amazon", "gooaq"])
    ap.add_argument("--rss-limit-gb", type=float, default=18.0)
    a = ap.parse_args()
    data, model = ensure_inputs(a.rows, a.shape)
    wd = CACHE / (f"vs-st-{a.rows}" if a.shape == "amazon" else f"vs-st-{a.shape}-{a.rows}")
    shutil.rmtree(wd, ignore_errors=True)
    wd.mkdir(parents=True)
    ours_cold, ours_peak, stages = run_ours(data, model, wd)
    ours_rerun, ours_rerun_peak, _ = run_ours(data, model, wd, num_negatives=8)
    pairs = kept_pairs(data)
    (wd / "pairs.json").write_text(json.dumps(pairs))
    st = run_st(model, wd / "pairs.json", wd / "st_cache", a.rss_limit_gb * 1024)
    print(
        f"{a.rows:,} {a.shape}-shaped rows ({len(pairs):,} pairs kept), percpos95 settings, "
        "static MiniLM encoder, 2 CPU cores"
    )
    total = sum(s for s, _ in stages.values())
    share = ", ".join(
        f"{k} {100 * s / total:.0f}%"
        for k, (s, _) in stages.items()
        if k in ("prepare", "embed", "search", "merge", "mine")
    )
    print(
        f"ours: cold {ours_cold:.1f} s (job time: {share}), peak RSS {ours_peak:.0f} MB; "
        f"rerun after num_negatives 16->8: {ours_rerun:.1f} s"
    )
    if st.get("killed"):
        print(
            f"sentence-transformers: stopped at {st['peak_mb'] / 1024:.1f} GB RSS after {st['wall']:.0f} s "
            f"(limit {a.rss_limit_gb} GB), no output"
        )
    elif "cold" in st:
        print(
            f"sentence-transformers: cold {st['cold']['wall']:.1f} s ({st['cold']['rows']:,} rows), peak RSS "
            f"{st['peak_mb']:.0f} MB; rerun {st.get('rerun', {}).get('wall', float('nan')):.1f} s"
        )
        print(
            f"ratio ST/ours: cold {st['cold']['wall'] / ours_cold:.2f}x, "
            f"rerun {st.get('rerun', {}).get('wall', float('nan')) / ours_rerun:.1f}x"
        )
    else:
        print("sentence-transformers failed:", st.get("error"))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
