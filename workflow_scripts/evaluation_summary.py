"""Snakemake script: the main metric of every evaluated dataset's variants, as one table."""

from hnm.evaluation import write_summary
from hnm.io import run_script


def main(logger):
    sm = snakemake  # noqa: F821
    logger.info("%s", write_summary(list(sm.input), sm.output[0]))


run_script(main, snakemake.log[0], "evaluation_summary")  # noqa: F821
