"""Snakemake script: select negatives and write the mined file and its stats."""

from hnm.io import run_script
from hnm.mine import MiningOptions, mine_dataset


def main(logger):
    sm = snakemake  # noqa: F821
    mine_dataset(
        sm.input.queries,
        sm.input.passages,
        sm.input.candidates,
        sm.input.positive_scores,
        sm.output.mined,
        sm.output.stats,
        MiningOptions.from_dict(sm.params.mining),
        dataset=sm.wildcards.dataset,
        logger=logger,
    )


run_script(main, snakemake.log[0], "mine")  # noqa: F821
