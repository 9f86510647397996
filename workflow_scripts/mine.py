"""Snakemake script: select negatives, write the mined file and its stats."""

from hnm.io import run_script
from hnm.mine import Judge, MineJob, run
from hnm.options import MiningOptions


def main(logger):
    sm = snakemake  # noqa: F821
    judge = Judge(**sm.params.judge) if sm.params.judge else None
    job = MineJob(
        sm.wildcards.dataset, MiningOptions.from_dict(sm.params.mining, f"datasets.{sm.wildcards.dataset}"), judge
    )
    run(sm.input, sm.output, job, logger)


run_script(main, snakemake.log[0], "mine")  # noqa: F821
