"""Snakemake script: exact top-k of all queries against one passage shard."""

import pyarrow.parquet as pq

from hnm.embed import shard_bounds
from hnm.io import run_script
from hnm.search import search_device, search_shard


def main(logger):
    sm = snakemake  # noqa: F821
    n_passages = pq.ParquetFile(sm.input.passages_table).metadata.num_rows
    offset, _ = shard_bounds(n_passages, int(sm.wildcards.shard), int(sm.wildcards.n), sm.params.block_rows)
    search_shard(
        list(sm.input.queries),
        sm.input.passages,
        offset,
        sm.params.topk,
        sm.output.ids,
        sm.output.scores,
        overfetch=sm.params.overfetch,
        chunk=sm.params.query_chunk,
        threads=sm.threads,
        logger=logger,
        device=search_device(sm.params.device),
        index=sm.params.index,
        nlist=sm.params.nlist,
        nprobe=sm.params.nprobe,
        twins=sm.input.twins if sm.params.share_twins else None,
        passage_npys=list(sm.input.all_passages),
    )


run_script(main, snakemake.log[0], "search")  # noqa: F821
