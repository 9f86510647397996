"""Snakemake script: hands the rule's files and job to hardneg.rescore.run."""

from hardneg.io import run_stage
from hardneg.rescore import run

run_stage(run, snakemake)  # noqa: F821
