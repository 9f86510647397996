"""Peak memory of the prepare stage on a large named-column table (the ``table`` format).

    python benchmarks/bench_table_memory.py WORK [--rows 1000000]

Writes ``WORK/qa.parquet``: ROWS rows with the columns ``question``, ``answer``,
``negative`` and ``title``, real English from the docstrings of the installed Python
packages (questions are one shortened sentence of their answer, answers and negatives
runs of 2 to 6 consecutive sentences), in row groups of 65,536 rows. Then, each in a
fresh process, it prints the peak RSS (``ru_maxrss``) and wall time of:

- ``hardneg.data.prepare.run`` on it (``format: table``, ``query_column: question``,
  ``positive_column: answer``, ``title_column: title``, ``negative_columns: [negative]``);
- for scale, what a one-off script does first: ``datasets.load_dataset("parquet", ...)``
  and reading the three text columns into Python lists, as ``mine_hard_negatives`` does.

The figures go to ``WORK/results.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PREPARE = """
import sys
from pathlib import Path
from types import SimpleNamespace
from hardneg.data import prepare
from hardneg.data.columns import TableColumns
from hardneg.stages.prepare import PrepareJob
work = Path(sys.argv[1])
out = work / "prepared"
out.mkdir(exist_ok=True)
cols = TableColumns(query="question", positive="answer", title="title", negatives=("negative",))
job = PrepareJob(dataset="qa", format="table", max_rows=None, max_bad_rows=0, qrels_split="train", columns=cols)
names = ("queries", "passages", "qrels", "negatives")
outputs = SimpleNamespace(**{n: out / f"{n}.parquet" for n in names}, twins=out / "twins.npy", stats=out / "stats.json")
stats = prepare.run(SimpleNamespace(raw=work / "qa.parquet"), outputs, job)
print(stats["queries"], stats["passages"])
"""

LOAD_DATASET = """
import sys
from datasets import load_dataset
ds = load_dataset("parquet", data_files=sys.argv[1] + "/qa.parquet", split="train", cache_dir=sys.argv[1] + "/hf")
cols = [list(ds[c]) for c in ("question", "answer", "negative")]
print(len(cols[0]))
"""

# the process's own peak (kB on Linux), as its last line
PEAK = "\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"


def make_table(path: Path, rows: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from make_realistic_pairs import english_sentences

    sents = english_sentences()
    rng = random.Random(seed)

    def passage() -> tuple[int, str]:
        start = rng.randrange(len(sents) - 6)
        return start, " ".join(sents[start : start + rng.randint(2, 6)])

    group = 65_536
    schema = pa.schema([(c, pa.string()) for c in ("question", "answer", "negative", "title")])
    with pq.ParquetWriter(path, schema) as w:
        for lo in range(0, rows, group):
            batch = {"question": [], "answer": [], "negative": [], "title": []}
            for i in range(lo, min(rows, lo + group)):
                start, answer = passage()
                words = sents[start].rstrip(".").split()
                batch["question"].append(" ".join(words[: rng.randint(4, 12)]) + "?")
                batch["answer"].append(answer)
                batch["negative"].append(passage()[1])
                batch["title"].append(f"doc {i % 50_000}")
            w.write_table(pa.table(batch), row_group_size=group)


def measure(code: str, work: Path) -> dict:
    """Wall time and peak RSS (MB) of ``code`` in a fresh Python."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code + PEAK, str(work)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    *out, peak = proc.stdout.strip().splitlines()
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(int(peak) / 1024), "stdout": " ".join(out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    table = args.work / "qa.parquet"
    if not table.exists():
        make_table(table, args.rows)
    size_mb = table.stat().st_size / 2**20
    results = {"rows": args.rows, "parquet_mb": round(size_mb, 1)}
    results["load_dataset"] = measure(LOAD_DATASET, args.work)
    results["prepare"] = measure(PREPARE, args.work)
    print(f"{args.rows:,} rows, parquet {size_mb:,.0f} MB")
    for name in ("prepare", "load_dataset"):
        r = results[name]
        print(f"{name:>13}: peak RSS {r['peak_rss_mb']:,} MB, {r['wall_s']:,} s  ({r['stdout']})")
    (args.work / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
