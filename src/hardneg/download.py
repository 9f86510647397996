"""Download stage: fetch one dataset's remote source (hub or http) to its output path."""

from __future__ import annotations

from .io import InputError
from .jobs import DownloadJob
from .sources import DownloadError, fetch


def run(inputs, outputs, job: DownloadJob, logger=None) -> None:
    """Fetch ``job.source`` to ``outputs[0]``, checked against ``job.md5`` / ``job.sha256``."""
    if logger:
        logger.info("dataset %s: fetching %s", job.dataset, job.source)
    try:
        fetch(job.source, outputs[0], job.dataset, job.md5, job.sha256)
    except DownloadError as exc:
        raise InputError(str(exc)) from None
    if logger:
        logger.info("done: %s", outputs[0])
