"""Snakemake script: hands the rule's files and job to hardneg.evaluation_summary.run."""

from hardneg.evaluation_summary import run
from hardneg.io import run_stage

run_stage(run, snakemake)  # noqa: F821
