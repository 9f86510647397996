"""Snakemake script: hands the rule's files and job to hardneg.merge.run."""

from hardneg.io import run_stage
from hardneg.merge import run

run_stage(run, snakemake)  # noqa: F821
