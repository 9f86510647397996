"""Snakemake script: hands the rule's files and job to hardneg.mine.run."""

from hardneg.io import run_stage
from hardneg.mine import run

run_stage(run, snakemake)  # noqa: F821
