"""Rule ``plots``: the six SVGs of one dataset, from the stats its stages wrote."""

from __future__ import annotations

from ..jobs import job


@job
class PlotsJob:
    dataset: str


def build(plan, dataset, **_) -> PlotsJob:
    return PlotsJob(dataset=dataset)


def run(inputs, outputs, job: PlotsJob, logger=None) -> None:
    from ..report.plots import run as stage_run

    return stage_run(inputs, outputs, job, logger)
