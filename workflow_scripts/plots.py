"""Snakemake script: the report's plots of one dataset."""

from hnm.io import run_script
from hnm.plots import run


def main(logger):
    sm = snakemake  # noqa: F821
    run(sm.input, sm.output, sm.wildcards.dataset, logger)


run_script(main, snakemake.log[0], "plots")  # noqa: F821
