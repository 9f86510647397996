"""Snakemake script: exact top-k of all queries against one passage shard."""

from hnm.io import run_script
from hnm.options import SearchOptions
from hnm.search import SearchJob, run


def main(logger):
    sm = snakemake  # noqa: F821
    p = sm.params
    search = SearchOptions(
        topk=p.topk,
        overfetch=p.overfetch,
        query_chunk=p.query_chunk,
        threads=sm.threads,
        device=p.device,
        index=p.index,
        nlist=p.nlist,
        nprobe=p.nprobe,
    )
    run(sm.input, sm.output, SearchJob(search, p.share_twins), logger)


run_script(main, snakemake.log[0], "search")  # noqa: F821
