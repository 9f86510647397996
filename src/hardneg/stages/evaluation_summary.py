"""Rule ``evaluation_summary``: every evaluated dataset's comparison in one summary."""

from __future__ import annotations

from ..jobs import job


@job
class EvaluationSummaryJob:
    """The evaluation summary reads its inputs only."""


def build(plan, **_) -> EvaluationSummaryJob:
    return EvaluationSummaryJob()


def run(inputs, outputs, job: EvaluationSummaryJob, logger=None) -> str:
    from ..evaluate.evaluation_summary import run as stage_run

    return stage_run(inputs, outputs, job, logger)
