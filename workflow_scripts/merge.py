"""Snakemake script: merge per-shard top-k into the global candidate table."""

from hnm.io import run_script
from hnm.merge import MergeJob, run
from hnm.options import SearchOptions


def main(logger):
    sm = snakemake  # noqa: F821
    p = sm.params
    run(sm.input, sm.output, MergeJob(SearchOptions(topk=p.topk, query_chunk=p.query_chunk), p.share_twins), logger)


run_script(main, snakemake.log[0], "merge")  # noqa: F821
