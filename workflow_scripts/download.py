"""Snakemake script: fetch one dataset source (hub or http) to its output path."""

from hnm.io import InputError, run_script
from hnm.sources import DownloadError, fetch


def main(logger):
    p = snakemake.params[0]  # noqa: F821
    logger.info("dataset %s: fetching %s", snakemake.wildcards.dataset, p["source"])  # noqa: F821
    try:
        fetch(p["source"], snakemake.output[0], snakemake.wildcards.dataset, p["md5"], p["sha256"])  # noqa: F821
    except DownloadError as exc:
        raise InputError(str(exc)) from None
    logger.info("done: %s", snakemake.output[0])  # noqa: F821


run_script(main, snakemake.log[0], "download")  # noqa: F821
