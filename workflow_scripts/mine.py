"""Snakemake script: select negatives, write the mined file, its stats and its plots."""

from hnm.io import run_script
from hnm.mine import MiningOptions, mine_dataset
from hnm.plots import dataset_plots


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
    plots = {name: sm.output[name] for name in sm.params.plots}
    dataset_plots(sm.output.stats, sm.input.prepare_stats, list(sm.input.embed_stats), plots, sm.wildcards.dataset)


run_script(main, snakemake.log[0], "mine")  # noqa: F821
