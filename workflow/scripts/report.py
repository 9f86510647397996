"""Snakemake script: hands the rule's files and job to hardneg.report.run."""

from hardneg.io import run_stage
from hardneg.report import run

run_stage(run, snakemake)  # noqa: F821
