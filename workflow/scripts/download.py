"""Snakemake script: hands the rule's files and job to hardneg.download.run."""

from hardneg.download import run
from hardneg.io import run_stage

run_stage(run, snakemake)  # noqa: F821
