"""Snakemake script: select negatives, write the mined file and its stats."""

from hnm.io import run_script
from hnm.mine import MineJob, run
from hnm.options import MiningOptions


def main(logger):
    sm = snakemake  # noqa: F821
    job = MineJob(sm.wildcards.dataset, MiningOptions.from_dict(sm.params.mining, f"datasets.{sm.wildcards.dataset}"))
    run(sm.input, sm.output, job, logger)


run_script(main, snakemake.log[0], "mine")  # noqa: F821
