"""Rule ``train``: fine-tune the model on one variant's mined training rows (evaluate)."""

from __future__ import annotations

from ..evaluate.variants import variant_negatives
from ..jobs import job, runtime
from ..options import EvaluateOptions, ModelOptions


@job
class TrainJob:
    dataset: str
    variant: str
    model: ModelOptions  # the student
    evaluate: EvaluateOptions
    negatives: int  # mined negatives per row (0 for in_batch)
    threads: int = runtime("torch threads of the job")


def build(plan, dataset, variant, **_) -> TrainJob:
    return TrainJob(
        dataset=dataset,
        variant=variant,
        model=plan.student,
        evaluate=plan.evaluate,
        negatives=variant_negatives(plan.evaluate)[variant],
        threads=plan.embed.threads,
    )


def run(inputs, outputs, job: TrainJob, logger=None) -> dict:
    from ..evaluate.train import run as stage_run

    return stage_run(inputs, outputs, job, logger)
