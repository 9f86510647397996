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


def build(plan, dataset, n, shard, model=None, **_) -> EmbedJob:
    """``model``: the cache key of the model that embeds (``model:``'s, or a teacher's)."""
    m = plan.embedder(model)
    return EmbedJob(
        dataset=dataset,
        model=m,
        embed=plan.embed,
        shard=int(shard),
        n_shards=int(n),
        share_twins=m.share_twins,
        threads=plan.embed.threads,
    )


def run(inputs, outputs, job: EmbedJob, logger=None) -> dict:
    from ..encode.embed import run as stage_run

    return stage_run(inputs, outputs, job, logger)
