"""Rule ``examples``: a page of sample rows and suspicious negatives of one mined file."""

from __future__ import annotations

from ..jobs import job


@job
class ExamplesJob:
    dataset: str
    output_format: str
    seed: int
    judge: bool  # the candidates' scores are a cross-encoder's


def build(plan, dataset, **_) -> ExamplesJob:
    m = plan.mining[dataset]
    return ExamplesJob(
        dataset=dataset, output_format=m.output_format, seed=m.seed, judge=bool(plan.cross_encoder.name_or_path)
    )


def run(inputs, outputs, job: ExamplesJob, logger=None) -> None:
    from ..report.examples import run as stage_run

    return stage_run(inputs, outputs, job, logger)
