"""Snakemake script: hands the rule's files and job to hardneg.folder_card.run."""

from hardneg.folder_card import run
from hardneg.io import run_stage

run_stage(run, snakemake)  # noqa: F821
