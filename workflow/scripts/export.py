"""Snakemake script: hands the rule's files and job to hardneg.export.run."""

from hardneg.export import run
from hardneg.io import run_stage

run_stage(run, snakemake)  # noqa: F821
