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

import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..data.texts import passage_text
from ..data.textstore import take_rows
from ..devices import pick_device
from ..encode.embed import load_model
from ..formats import count_rows, read_mined_rows
from ..formats.readers import count_parquet_rows
from ..io import InputError, write_json
from .variants import TRAINING_FORMAT

if TYPE_CHECKING:
    from ..stages.train import TrainJob


def sample_rows(path, n_rows: int, seed: int) -> tuple[list, int]:
    """The rows of a variant's training file (:data:`hardneg.evaluate.variants.TRAINING_FORMAT`) that
    ``n_rows`` steps' worth of training uses, in a seeded order; and how many rows it has."""
    total = count_rows(path, TRAINING_FORMAT)
    if total == 0:
        raise InputError(f"{path}: no training rows (every query was held out or dropped by the variant's mining)")
    rng = np.random.default_rng(seed)
    picks = rng.permutation(total)[: min(n_rows, total)]
    got = read_mined_rows(path, TRAINING_FORMAT, picks.tolist())
    return [got[i] for i in picks.tolist()], total


def training_columns(rows: list, negatives: int, passages_path, seed: int) -> tuple[dict, Counter]:
    """``anchor``, ``positive``, ``negative_1..k`` columns of :class:`~hardneg.formats.readers.MinedRow`
    rows; counts of filled negatives (random fills: rows of ``passages_path``)."""
    counts: Counter = Counter()
    cols: dict[str, list] = {"anchor": [], "positive": []}
    for j in range(negatives):
        cols[f"negative_{j + 1}"] = []
    need_random = []
    for i, r in enumerate(rows):
        cols["anchor"].append(r.query)
        cols["positive"].append(r.positives[0])
        negs = r.negatives
        if negatives and not negs:
            need_random.append(i)
            counts["rows_with_random_negatives"] += 1
        elif len(negs) < negatives:
            counts["rows_with_repeated_negatives"] += 1
        for j in range(negatives):
            cols[f"negative_{j + 1}"].append(negs[j % len(negs)] if negs else None)
    if need_random:
        rng = np.random.default_rng(seed + 1)
        idx = rng.integers(0, count_parquet_rows(passages_path), size=(len(need_random), negatives))
        got = take_rows(passages_path, idx.ravel(), ["title", "text"])
        texts = [passage_text(a, b) for a, b in zip(got["title"], got["text"], strict=True)]
        for k, i in enumerate(need_random):
            for j in range(negatives):
                cols[f"negative_{j + 1}"][i] = texts[k * negatives + j]
    return cols, counts


def run(inputs, outputs, job: TrainJob, logger=None) -> dict:
    """Train on ``inputs.train`` (the variant's tevatron rows; ``inputs.passages`` for
    random fills); write ``outputs.model`` (a SentenceTransformer folder) and ``stats``."""
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    ev, m = job.evaluate, job.model
    torch.set_num_threads(max(1, job.threads))
    device = pick_device()
    rows, total = sample_rows(inputs.train, ev.max_steps * ev.batch_size, ev.seed)
    cols, counts = training_columns(rows, job.negatives, inputs.passages, ev.seed)
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
        "dataset": job.dataset,
        "variant": job.variant,
        "device": device,
        "rows_in_file": total,
        "rows_used": len(rows),
        "negatives_per_row": job.negatives,
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
            job.dataset,
            job.variant,
            stats["steps"],
            ev.batch_size,
            device,
            seconds,
            stats["first_loss"],
            stats["last_loss"],
        )
    return stats
