"""Snakemake script: the Hugging Face dataset card next to one mined file."""

from hnm.card import CardJob, run
from hnm.io import run_script


def main(logger):
    sm = snakemake  # noqa: F821
    p = sm.params
    run(sm.input, sm.output, CardJob(sm.wildcards.dataset, p.source, p.checksum, p.model, p.search, p.mining), logger)
    logger.info("wrote %s", sm.output[0])


run_script(main, snakemake.log[0], "card")  # noqa: F821
