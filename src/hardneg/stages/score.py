"""Rule ``score``: one variant's model (or the base model) ranks the whole corpus for the
held-out queries: per-query metrics."""

from __future__ import annotations

from ..jobs import job, runtime
from ..options import EvaluateOptions, ModelOptions, SearchOptions


@job
class ScoreJob:
    dataset: str
    variant: str
    model: ModelOptions  # the student; base: this model, a trained variant: its folder (inputs.model)
    evaluate: EvaluateOptions
    search: SearchOptions  # device and overfetch of the exact search
    block_rows: int  # rows per encode call
    threads: int = runtime("torch and search threads of the job")


def build(plan, dataset, variant, **_) -> ScoreJob:
    return ScoreJob(
        dataset=dataset,
        variant=variant,
        model=plan.student,
        evaluate=plan.evaluate,
        search=plan.search,
        block_rows=plan.embed.block_rows,
        threads=plan.embed.threads,
    )


def run(inputs, outputs, job: ScoreJob, logger=None) -> dict:
    from ..evaluate.score import run as stage_run

    return stage_run(inputs, outputs, job, logger)
