"""Snakemake script: one summary table over all datasets (Markdown and HTML)."""

from hnm.io import run_script
from hnm.report import write_summary


def main(logger):
    sm = snakemake  # noqa: F821
    write_summary(list(sm.input.prepare), list(sm.input.mine), sm.params.benchmarks, sm.output.markdown, sm.output.html)
    logger.info("wrote %s and %s", sm.output.markdown, sm.output.html)


run_script(main, snakemake.log[0], "report")  # noqa: F821
