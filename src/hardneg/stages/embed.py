"""Rule ``embed``: one shard of the queries and of the passages into the embedding cache
(keyed by the model settings only)."""

from __future__ import annotations

from ..jobs import cache_of, job, runtime
from ..options import EmbedOptions, ModelOptions


@job
class EmbedJob:
    dataset: str = cache_of()
    model: ModelOptions
    embed: EmbedOptions
    shard: int
    n_shards: int
    share_twins: bool  # queries that are also passages take that passage's vector
    threads: int = runtime("torch threads of the job")


def build(plan, dataset, n, shard, **_) -> EmbedJob:
    return EmbedJob(
        dataset=dataset,
        model=plan.model,
        embed=plan.embed,
        shard=int(shard),
        n_shards=int(n),
        share_twins=plan.share_twins,
        threads=plan.embed.threads,
    )


def run(inputs, outputs, job: EmbedJob, logger=None) -> dict:
    from ..embed import run as stage_run

    return stage_run(inputs, outputs, job, logger)
