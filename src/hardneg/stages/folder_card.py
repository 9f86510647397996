"""Rule ``folder_card``: the output folder's README.md: one ``datasets`` config per mined
file."""

from __future__ import annotations

from ..jobs import job


@job
class FolderCardJob:
    """The output folder's README.md: one config per dataset."""

    datasets: tuple  # the datasets, in the order of the config (and of the cards)


def build(plan, **_) -> FolderCardJob:
    return FolderCardJob(datasets=tuple(plan.datasets))


def run(inputs, outputs, job: FolderCardJob, logger=None) -> dict:
    from ..report.folder_card import run as stage_run

    return stage_run(inputs, outputs, job, logger)
