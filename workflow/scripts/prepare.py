"""Snakemake script: hands the rule's files and job to hardneg.prepare.run."""

from hardneg.io import run_stage
from hardneg.prepare import run

run_stage(run, snakemake)  # noqa: F821
