"""Snakemake script: merge per-shard top-k into the global candidate table."""

from hnm.io import run_script
from hnm.search import merge_shards, positive_scores


def main(logger):
    sm = snakemake  # noqa: F821
    merge_shards(
        list(sm.input.ids),
        list(sm.input.scores),
        sm.params.topk,
        sm.output.candidates,
        chunk=sm.params.query_chunk,
        logger=logger,
    )
    positive_scores(
        list(sm.input.queries),
        list(sm.input.passages),
        sm.input.qrels,
        sm.output.positive_scores,
        twins=sm.input.twins if sm.params.share_twins else None,
    )


run_script(main, snakemake.log[0], "merge")  # noqa: F821
