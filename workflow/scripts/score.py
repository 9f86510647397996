"""Snakemake script: hands the rule's files and job to hardneg.score.run."""

from hardneg.io import run_stage
from hardneg.score import run

run_stage(run, snakemake)  # noqa: F821
