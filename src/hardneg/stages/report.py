"""Rule ``report``: one table over all datasets (counts, each stage's wall time and peak
memory), as Markdown and as a report page."""

from __future__ import annotations

from ..jobs import job


@job
class ReportJob:
    benchmarks: dict  # {dataset: {stage: [benchmark files]}}


def build(plan, benchmarks, **_) -> ReportJob:
    return ReportJob(benchmarks=benchmarks)


def run(inputs, outputs, job: ReportJob, logger=None) -> str:
    from ..report.summary import run as stage_run

    return stage_run(inputs, outputs, job, logger)
