"""Rule ``download_split``: every data file of a hub repo's split at the pinned revision
(:mod:`hardneg.data.hub`), as a folder laid out as in the repo."""

from __future__ import annotations

from dataclasses import asdict

from ..jobs import job
from . import download
from .download import DownloadJob


@job
class DownloadSplitJob(DownloadJob):
    """The download job of a hub split: its ``split`` and ``subset`` set."""


def build(plan, dataset, **_) -> DownloadSplitJob:
    return DownloadSplitJob(**asdict(download.build(plan, dataset)))


def run(inputs, outputs, job: DownloadSplitJob, logger=None) -> None:
    from ..data.download import run as stage_run

    return stage_run(inputs, outputs, job, logger)
