"""Snakemake script: one summary table over all datasets (Markdown and HTML)."""

from hnm.io import run_script
from hnm.report import ReportJob, run


def main(logger):
    sm = snakemake  # noqa: F821
    run(sm.input, sm.output, ReportJob(sm.params.benchmarks), logger)


run_script(main, snakemake.log[0], "report")  # noqa: F821
