"""Rule ``search``: exact top-k of every query against one passage shard (memory bounded by
that shard)."""

from __future__ import annotations

from ..jobs import cache_of, job, runtime
from ..options import SearchOptions


@job
class SearchJob:
    dataset: str = cache_of()
    search: SearchOptions
    share_twins: bool
    threads: int = runtime("faiss and exact-rescoring threads of the job")


def build(plan, dataset, model=None, **_) -> SearchJob:
    """``model``: the cache key of the vectors searched (``model:``'s, or a teacher's)."""
    s = plan.search
    return SearchJob(dataset=dataset, search=s, share_twins=plan.embedder(model).share_twins, threads=s.threads)


def run(inputs, outputs, job: SearchJob, logger=None) -> None:
    from ..search.search import run as stage_run

    return stage_run(inputs, outputs, job, logger)
