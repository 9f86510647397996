"""Snakemake script: hands the rule's files and job to hardneg.plots.run."""

from hardneg.io import run_stage
from hardneg.plots import run

run_stage(run, snakemake)  # noqa: F821
