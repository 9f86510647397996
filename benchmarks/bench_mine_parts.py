"""Where the mine job's time goes, on bench_host's cached 200k-row run.

    python benchmarks/bench_mine_parts.py [--rows 200000] [--repeat 2]

Each case runs in its own process (``seed``, tevatron JSON lines) and prints the seconds
of building the miner (hashed query store, passage fragments, exclusion sets), of the runs,
and of closing the file (its last fsync), with the process's user and kernel CPU seconds:

- ``1 thread``, ``2 threads``: the job as the rule runs it under and over 100 MB of
  candidates;
- ``2 threads, freed memory returned``: without :func:`hardneg.io.keep_freed_memory`;
- ``decide only``: the reading thread's work alone (read, candidate arrays, selection).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

CHILD = r"""
import glob, json, os, resource, sys, time
from types import SimpleNamespace as F
from hardneg.data.textstore import scratch_dir
from hardneg.formats import open_writer
from hardneg.io import keep_freed_memory
from hardneg.mining.mine import Miner
from hardneg.options import PRESETS, MiningOptions
res, threads, out = sys.argv[1], int(sys.argv[2]), sys.argv[5]
keep, decide_only = sys.argv[3] == "1", sys.argv[4] == "1"
prep = f"{res}/prepared/realistic"
cands = glob.glob(f"{res}/search/*/top*/realistic/candidates.parquet")[0]
inputs = F(queries=f"{prep}/queries.parquet", passages=f"{prep}/passages.parquet", candidates=cands,
           positive_scores=cands.replace("candidates.parquet", "positive_scores.parquet"))
opts = MiningOptions(**PRESETS["seed"])
if keep:
    keep_freed_memory()
got = {}
with scratch_dir(out) as tmp:
    t = time.perf_counter()
    miner = Miner(inputs, opts, tmp)
    got["build"] = time.perf_counter() - t
    t = time.perf_counter()
    if decide_only:
        for q0, q1, run in miner.spans(cands):
            miner.decide(q0, q1, run)
        got["runs"], got["close"] = time.perf_counter() - t, 0.0
    else:
        writer = open_writer(out, "tevatron", opts.num_negatives, opts.output_scores)
        miner.run(cands, writer, threads)
        got["runs"] = time.perf_counter() - t
        t = time.perf_counter()
        writer.close()
        got["close"] = time.perf_counter() - t
r = resource.getrusage(resource.RUSAGE_SELF)
got["user"], got["kernel"] = r.ru_utime, r.ru_stime
print(json.dumps(got))
"""

CASES = {  # name: (threads, keep freed memory, decide only)
    "1 thread": (1, True, False),
    "2 threads": (2, True, False),
    "2 threads, freed memory returned": (2, False, False),
    "decide only": (1, True, True),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    from bench_host import workflow_results

    results = workflow_results(a.rows)
    out = results.parent / "bench-mine-parts.jsonl"
    print(f"{'case':34s} {'build':>6s} {'runs':>6s} {'close':>6s} {'total':>6s} {'user':>6s} {'kernel':>6s}  (s)")
    for _ in range(a.repeat):
        for name, (threads, keep, decide_only) in CASES.items():
            out.unlink(missing_ok=True)
            args = [str(results), str(threads), str(int(keep)), str(int(decide_only)), str(out)]
            p = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=True)
            g = json.loads(p.stdout.strip().splitlines()[-1])
            total = g["build"] + g["runs"] + g["close"]
            print(
                f"{name:34s} {g['build']:6.2f} {g['runs']:6.2f} {g['close']:6.2f} {total:6.2f} "
                f"{g['user']:6.2f} {g['kernel']:6.2f}",
                flush=True,
            )
    out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
