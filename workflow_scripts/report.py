"""Snakemake script: one summary table over all datasets."""

from hnm.io import run_script
from hnm.report import write_summary


def main(logger):
    sm = snakemake  # noqa: F821
    write_summary(list(sm.input.prepare), list(sm.input.mine), sm.output[0])
    logger.info("wrote %s", sm.output[0])


run_script(main, snakemake.log[0], "report")  # noqa: F821
