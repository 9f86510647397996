"""Snakemake script: rescore cached candidates and positives with a cross-encoder."""

from hnm.io import run_script
from hnm.options import CrossEncoderOptions
from hnm.rescore import run


def main(logger):
    sm = snakemake  # noqa: F821
    run(sm.input, sm.output, CrossEncoderOptions(**sm.params.cross_encoder), logger)


run_script(main, snakemake.log[0], "rescore")  # noqa: F821
