"""The one Snakemake script: runs the stage named as the rule (hardneg.stages) on the
rule's files and job."""

from hardneg.io import run_stage
from hardneg.stages import stage

run_stage(stage(snakemake.rule).run, snakemake)  # noqa: F821
