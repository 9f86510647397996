"""Snakemake script: raw data -> normalized queries/passages/qrels parquet + stats."""

from hnm.io import run_script
from hnm.prepare import PrepareJob, run


def main(logger):
    sm = snakemake  # noqa: F821
    p = sm.params
    job = PrepareJob(sm.wildcards.dataset, p.format, p.max_rows, p.max_bad_rows, p.qrels_split)
    run(sm.input, sm.output, job, logger)


run_script(main, snakemake.log[0], "prepare")  # noqa: F821
