"""Download stage: fetch one dataset's remote source (hub or http) to its output path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..io import InputError
from .sources import DownloadError, fetch, hf_error, parse_source

if TYPE_CHECKING:
    from ..stages.download import DownloadJob


def fetch_split(job: DownloadJob, dest, logger=None) -> None:
    """Every data file of a hub repo's split, into the folder ``dest``."""
    from .hub import fetch_split as fetch_files

    src = parse_source(job.source)
    try:
        files = fetch_files(src.repo_id, src.revision, job.split, job.subset, dest)
    except InputError as exc:
        raise InputError(f"dataset {job.dataset}: {exc}") from None
    except Exception as exc:  # the hub raises many types; all mean "not available"
        raise hf_error(exc, job.dataset, job.source) from None
    if logger:
        logger.info("dataset %s: split %s is %d file(s): %s", job.dataset, job.split, len(files), ", ".join(files))


def run(inputs, outputs, job: DownloadJob, logger=None) -> None:
    """Fetch ``job.source`` to ``outputs[0]``, checked against ``job.md5`` / ``job.sha256``."""
    if logger:
        logger.info("dataset %s: fetching %s", job.dataset, job.source)
    try:
        if job.split:
            fetch_split(job, outputs[0], logger)
        else:
            fetch(job.source, outputs[0], job.dataset, job.md5, job.sha256)
    except DownloadError as exc:
        raise InputError(str(exc)) from None
    if logger:
        logger.info("done: %s", outputs[0])
