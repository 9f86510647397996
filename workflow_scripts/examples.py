"""Snakemake script: the examples page of one dataset (sample rows, suspicious negatives)."""

from hnm.examples import ExamplesJob, run
from hnm.io import run_script


def main(logger):
    sm = snakemake  # noqa: F821
    p = sm.params
    run(sm.input, sm.output, ExamplesJob(sm.wildcards.dataset, p.output_format, p.seed, p.judge), logger)


run_script(main, snakemake.log[0], "examples")  # noqa: F821
