"""Snakemake script: hands the rule's files and job to hardneg.search.run."""

from hardneg.io import run_stage
from hardneg.search import run

run_stage(run, snakemake)  # noqa: F821
