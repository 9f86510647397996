"""Snakemake script: the held-out queries of one dataset, and the training rows they exclude."""

from hnm.holdout import HoldoutJob, run
from hnm.io import run_script


def main(logger):
    sm = snakemake  # noqa: F821
    p = sm.params
    job = HoldoutJob(sm.wildcards.dataset, p.format, p.split, p.fraction, p.max_holdout, p.max_bad_rows)
    run(sm.input, sm.output, job, logger)


run_script(main, snakemake.log[0], "holdout")  # noqa: F821
