"""Snakemake script: the Hugging Face dataset card next to one mined file."""

from hnm.card import write_card
from hnm.io import run_script


def main(logger):
    sm = snakemake  # noqa: F821
    write_card(
        sm.output[0],
        sm.wildcards.dataset,
        sm.input.mined,
        sm.input.stats,
        sm.input.prepare_stats,
        sm.params.source,
        sm.params.checksum,
        sm.params.model,
        sm.params.search,
        sm.params.mining,
    )
    logger.info("wrote %s", sm.output[0])


run_script(main, snakemake.log[0], "card")  # noqa: F821
