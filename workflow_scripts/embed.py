"""Snakemake script: embed one shard of a dataset's queries and passages."""

from hnm.embed import embed_shard
from hnm.io import run_script


def main(logger):
    sm = snakemake  # noqa: F821
    embed_shard(
        sm.input.queries,
        sm.input.passages,
        sm.output.queries,
        sm.output.passages,
        shard=int(sm.wildcards.shard),
        n_shards=int(sm.wildcards.n),
        model_cfg=sm.params.model,
        block_rows=sm.params.block_rows,
        threads=sm.threads,
        logger=logger,
        out_stats=sm.output.stats,
        precision=sm.params.precision,
        twins_path=sm.input.twins if sm.params.share_twins else None,
    )


run_script(main, snakemake.log[0], "embed")  # noqa: F821
