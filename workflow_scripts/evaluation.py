"""Snakemake script: one dataset's evaluation (JSON, plot and page) from its variants' scores."""

from hnm.evaluation import EvaluationJob, run
from hnm.io import run_script


def main(logger):
    sm = snakemake  # noqa: F821
    p = sm.params
    job = EvaluationJob(sm.wildcards.dataset, tuple(p.variants), p.mining, p.bootstrap, p.seed)
    run(sm.input, sm.output, job, logger)


run_script(main, snakemake.log[0], "evaluate")  # noqa: F821
