"""End to end at real size: a 200k-row real-text pairs file through ``snakemake``.

    python benchmarks/bench_realistic.py [ROWS] [--shape amazon|gooaq] [--preset percpos95] [--workdir DIR]

1. makes the data (``make_realistic_pairs.py``) and the fast stand-in encoder
   (``make_static_model.py``) under ``benchmarks/.cache/`` if they are missing;
2. runs the workflow with the shipped ``prepare`` settings and the chosen preset;
3. prints each stage's wall time and peak RSS (from the rules' ``benchmark:`` files),
   the whole run's wall time and the peak RSS of its largest process;
4. checks the output: the schema invariants, the dropped-row counts, and that no row's
   negatives hold a positive of any row with the same query text.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / ".cache"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
STAGES = ("prepare", "embed", "search", "merge", "mine")


def ensure_inputs(rows: int, shape: str = "amazon") -> tuple[Path, Path]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import make_realistic_pairs
    import make_static_model

    CACHE.mkdir(parents=True, exist_ok=True)
    data = CACHE / (f"realistic-{rows}.jsonl.gz" if shape == "amazon" else f"realistic-{shape}-{rows}.jsonl.gz")
    if not data.exists():
        tmp = data.with_suffix(".tmp")
        make_realistic_pairs.write(str(tmp), make_realistic_pairs.make_rows(rows, shape=shape))
        tmp.rename(data)
    model = make_static_model.build(CACHE / "static-minilm")
    return data, model


def stage_table(wd: Path) -> dict[str, tuple[float, float]]:
    """{stage: (sum of job wall seconds, max job RSS MB)} from the benchmark files."""
    from hardneg.report.summary import stage_costs

    paths: dict[str, list] = defaultdict(list)
    for tsv in (wd / "logs" / "benchmarks").rglob("*.tsv"):
        paths[tsv.relative_to(wd / "logs" / "benchmarks").parts[0].split(".")[0]].append(tsv)
    return stage_costs(paths)


def write_run_config(wd: Path, data: Path, model: Path, preset: str, shards: int = 2, **mining) -> list[str]:
    """The benchmark's workflow config in ``wd`` (shipped ``prepare`` settings, the fast
    encoder, one dataset); returns the snakemake command that runs it."""
    shipped = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg = {
        "model": {"name_or_path": str(model), "batch_size": 256, "max_seq_length": 256},
        "embed": {"threads": 2},
        "search": {"threads": 2},
        "prepare": shipped["prepare"],  # the shipped settings (max_bad_rows: 1000)
        "mining": {"preset": preset, **mining},
        "datasets": {"realistic": {"format": "pairs", "source": str(data), "shards": shards}},
    }
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return [
        SNAKEMAKE,
        "-s",
        str(REPO / "workflow" / "Snakefile"),
        "-d",
        str(wd),
        "--cores",
        "2",
        f"--configfile={wd}/config.yaml",
    ]


def check_output(wd: Path, dataset: str) -> dict:
    prep = json.loads((wd / f"results/prepared/{dataset}/prepare_stats.json").read_text())
    positives_of = defaultdict(set)
    recs = []
    (mined,) = (wd / "retrieval/original").glob(f"{dataset}.*jsonl")  # NAME.jsonl for seed, else its settings'
    with mined.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            assert set(rec) == {"query_id", "query", "positive_passages", "negative_passages"}
            assert rec["query"].strip() and rec["positive_passages"]
            negs = rec["negative_passages"]
            assert 1 <= len(negs) <= 16
            assert len({n["docid"] for n in negs}) == len(negs)
            positives_of[rec["query"]] |= {p["docid"] for p in rec["positive_passages"]}
            recs.append((rec["query"], {n["docid"] for n in negs}))
    # every positive of every row with that query text, including rows not written
    import pyarrow.parquet as pq

    q = pq.read_table(wd / f"results/prepared/{dataset}/queries.parquet").column("text").to_pylist()
    p = pq.read_table(wd / f"results/prepared/{dataset}/passages.parquet").column("docid").to_pylist()
    r = pq.read_table(wd / f"results/prepared/{dataset}/qrels.parquet")
    all_pos = defaultdict(set)
    for qi, pi in zip(r.column("query_idx").to_pylist(), r.column("passage_idx").to_pylist(), strict=True):
        all_pos[q[qi]].add(p[pi])
    leaks = sum(1 for text, negs in recs if negs & all_pos[text])
    assert leaks == 0, f"{leaks} rows have a negative that is a positive of a row with the same query text"
    return {"written": len(recs), "dropped": prep["dropped"], "bad_rows_skipped": prep["bad_rows_skipped"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", nargs="?", type=int, default=200_000)
    ap.add_argument("--shape", default="amazon", choices=["amazon", "gooaq"])
    ap.add_argument("--preset", default="percpos95")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    data, model = ensure_inputs(a.rows, a.shape)
    tag = "" if a.shape == "amazon" else f"{a.shape}-"
    wd = Path(a.workdir or CACHE / f"run-{tag}{a.rows}-{a.preset}")
    wd.mkdir(parents=True, exist_ok=True)
    cmd = write_run_config(wd, data, model, a.preset, a.shards)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(proc.stderr[-5000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    stages = stage_table(wd)
    print(f"{a.rows} rows, preset {a.preset}, {a.shards} shards: wall {wall:.1f} s, peak RSS {peak:.0f} MB")
    total = sum(s for s, _ in stages.values())
    for st in STAGES:
        s, rss = stages.get(st, (0.0, 0.0))
        print(f"  {st:8s} {s:7.1f} s job time ({100 * s / total:4.1f}%), peak {rss:6.0f} MB")
    print("  output:", json.dumps(check_output(wd, "realistic")))


if __name__ == "__main__":
    main()
