"""Snakemake script: fine-tune the model on one evaluation variant's training rows."""

from hnm.io import run_script
from hnm.options import EvaluateOptions, ModelOptions
from hnm.train import TrainJob, run


def main(logger):
    sm = snakemake  # noqa: F821
    p, wc = sm.params, sm.wildcards
    job = TrainJob(
        wc.dataset, wc.variant, ModelOptions(**p.model), EvaluateOptions(**p.training), p.negatives, sm.threads
    )
    run(sm.input, sm.output, job, logger)


run_script(main, snakemake.log[0], "train")  # noqa: F821
