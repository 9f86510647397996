"""Snakemake script: rescore cached candidates and positives with a cross-encoder."""

from hnm.io import run_script
from hnm.rescore import rescore


def main(logger):
    sm = snakemake  # noqa: F821
    rescore(
        sm.input.queries,
        sm.input.passages,
        sm.input.candidates,
        sm.input.positive_scores,
        sm.output.candidates,
        sm.output.positive_scores,
        sm.params.cross_encoder,
        logger=logger,
    )


run_script(main, snakemake.log[0], "rescore")  # noqa: F821
