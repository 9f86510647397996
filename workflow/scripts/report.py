"""Snakemake script: hands the rule's files and job to hardneg.report.run."""

from hardneg.report import run
from hardneg.io import run_stage

run_stage(run, snakemake)  # noqa: F821
