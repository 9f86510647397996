"""Snakemake script: embed one shard of a dataset's queries and passages."""

from hnm.embed import EmbedJob, run
from hnm.io import run_script
from hnm.options import EmbedOptions, ModelOptions


def main(logger):
    sm = snakemake  # noqa: F821
    p = sm.params
    job = EmbedJob(
        model=ModelOptions(**p.model),
        embed=EmbedOptions(block_rows=p.block_rows, precision=p.precision),
        shard=int(sm.wildcards.shard),
        n_shards=int(sm.wildcards.n),
        share_twins=p.share_twins,
        threads=sm.threads,
    )
    run(sm.input, sm.output, job, logger)


run_script(main, snakemake.log[0], "embed")  # noqa: F821
