"""Rule ``holdout``: the held-out queries of an evaluated dataset (a BeIR test split, or a
share of the pairs' query texts), and the rows training leaves out."""

from __future__ import annotations

from ..jobs import job
from ..options import EvaluateOptions


@job
class HoldoutJob:
    dataset: str
    format: str  # pairs | medmcqa | beir
    evaluate: EvaluateOptions  # split (BeIR), holdout_fraction (pairs), max_holdout
    max_bad_rows: int  # BeIR: bad rows of the held-out split skipped before failing


def build(plan, dataset, **_) -> HoldoutJob:
    return HoldoutJob(
        dataset=dataset,
        format=plan.datasets[dataset].format,
        evaluate=plan.evaluate,
        max_bad_rows=plan.max_bad_rows(dataset),
    )


def run(inputs, outputs, job: HoldoutJob, logger=None) -> dict:
    from ..evaluate.holdout import run as stage_run

    return stage_run(inputs, outputs, job, logger)
