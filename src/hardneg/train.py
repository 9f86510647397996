"""Evaluate stage, training: fine-tune the bi-encoder on one variant's mined rows.

The sentence-transformers trainer with MultipleNegativesRankingLoss: each row is
(query, positive, ``negatives_per_row`` mined negatives), and every other passage of the
batch is a negative too. A row with fewer mined negatives than that repeats its own; a
row with none (``in_batch`` has none at all, and a variant may keep such rows) gets
seeded random corpus passages, i.e. easy negatives like the in-batch ones. ``in_batch``
trains on (query, positive) pairs only.

Only the rows the steps use are read: ``max_steps * batch_size`` of them, drawn in a
seeded order (all rows, cycled, when there are fewer), so a file of millions of rows
costs one pass and the memory of the rows used.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.dataset as pads

from .devices import pick_device
from .embed import load_model
from .io import InputError, write_json
from .jobs import TrainJob
from .texts import passage_text


def _count_lines(path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def _passage(p: dict) -> str:
    return passage_text(p.get("title") or "", p.get("text") or "")


def read_rows(path, n_rows: int, seed: int) -> tuple[list[dict], int]:
    """The rows of a tevatron file that ``n_rows`` steps' worth of training uses, in a
    seeded order; and how many rows the file has."""
    total = _count_lines(path)
    if total == 0:
        raise InputError(f"{path}: no training rows (every query was held out or dropped by the variant's mining)")
    rng = np.random.default_rng(seed)
    picks = rng.permutation(total)[: min(n_rows, total)]
    wanted = set(picks.tolist())
    got: dict[int, dict] = {}
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i in wanted:
                got[i] = json.loads(line)
    return [got[i] for i in picks.tolist()], total


def training_columns(rows: list[dict], negatives: int, passages_path, seed: int) -> tuple[dict, Counter]:
    """``anchor``, ``positive``, ``negative_1..k`` columns; counts of filled negatives."""
    counts: Counter = Counter()
    cols: dict[str, list] = {"anchor": [], "positive": []}
    for j in range(negatives):
        cols[f"negative_{j + 1}"] = []
    need_random = []
    for i, r in enumerate(rows):
        cols["anchor"].append(r["query"])
        cols["positive"].append(_passage(r["positive_passages"][0]))
        negs = [_passage(p) for p in r["negative_passages"]]
        if negatives and not negs:
            need_random.append(i)
            counts["rows_with_random_negatives"] += 1
        elif len(negs) < negatives:
            counts["rows_with_repeated_negatives"] += 1
        for j in range(negatives):
            cols[f"negative_{j + 1}"].append(negs[j % len(negs)] if negs else None)
    if need_random:
        ds = pads.dataset(passages_path, format="parquet")
        rng = np.random.default_rng(seed + 1)
        idx = rng.integers(0, ds.count_rows(), size=(len(need_random), negatives))
        got = ds.take(idx.ravel(), columns=["title", "text"])
        texts = [
            passage_text(a or "", b or "")
            for a, b in zip(*(got.column(c).to_pylist() for c in ("title", "text")), strict=True)
        ]
        for k, i in enumerate(need_random):
            for j in range(negatives):
                cols[f"negative_{j + 1}"][i] = texts[k * negatives + j]
    return cols, counts


def run(inputs, outputs, options: TrainJob, logger=None) -> dict:
    """Train on ``inputs.train`` (the variant's tevatron rows; ``inputs.passages`` for
    random fills); write ``outputs.model`` (a SentenceTransformer folder) and ``stats``."""
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    ev, m = options.evaluate, options.model
    torch.set_num_threads(max(1, options.threads))
    device = pick_device()
    rows, total = read_rows(inputs.train, ev.max_steps * ev.batch_size, ev.seed)
    cols, counts = training_columns(rows, options.negatives, inputs.passages, ev.seed)
    model = load_model(m, "fp32", device)
    model.max_seq_length = ev.max_seq_length
    prompts = {"anchor": m.query_prompt, **{c: m.passage_prompt for c in cols if c != "anchor"}}
    final = Path(outputs.model)
    work = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work / "trainer"),
        max_steps=ev.max_steps,
        per_device_train_batch_size=ev.batch_size,
        learning_rate=ev.learning_rate,
        warmup_steps=ev.warmup_ratio,  # a float below 1 is a share of max_steps (transformers 5)
        seed=ev.seed,
        data_seed=ev.seed,
        use_cpu=not device.startswith("cuda"),
        bf16=device.startswith("cuda") and torch.cuda.is_bf16_supported(),
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        dataloader_drop_last=True,
        prompts=prompts if any(prompts.values()) else None,
        save_strategy="no",
        report_to="none",
        logging_steps=max(1, ev.max_steps // 20),
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict(cols),
        loss=losses.MultipleNegativesRankingLoss(model),
    )
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    try:
        model.save(str(work / "model"))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(work / "model", final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    losses_logged = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    stats = {
        "dataset": options.dataset,
        "variant": options.variant,
        "device": device,
        "rows_in_file": total,
        "rows_used": len(rows),
        "negatives_per_row": options.negatives,
        **dict(sorted(counts.items())),
        "steps": int(trainer.state.global_step),
        "batch_size": ev.batch_size,
        "train_seconds": round(seconds, 1),
        "seconds_per_100_steps": round(100 * seconds / max(trainer.state.global_step, 1), 1),
        "first_loss": losses_logged[0] if losses_logged else None,
        "last_loss": losses_logged[-1] if losses_logged else None,
    }
    write_json(outputs.stats, stats)
    if logger:
        logger.info(
            "%s/%s: %d steps of %d rows on %s in %.0f s (loss %s -> %s)",
            options.dataset,
            options.variant,
            stats["steps"],
            ev.batch_size,
            device,
            seconds,
            stats["first_loss"],
            stats["last_loss"],
        )
    return stats
