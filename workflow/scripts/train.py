"""Snakemake script: hands the rule's files and job to hardneg.train.run."""

from hardneg.io import run_stage
from hardneg.train import run

run_stage(run, snakemake)  # noqa: F821
