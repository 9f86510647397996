"""Rule ``merge``: the shards' candidate lists into one global table, plus the positives'
scores."""

from __future__ import annotations

from ..jobs import cache_of, job
from ..options import SearchOptions


@job
class MergeJob:
    dataset: str = cache_of()
    search: SearchOptions
    share_twins: bool


def build(plan, dataset, model=None, **_) -> MergeJob:
    """``model``: the cache key of the vectors searched (``model:``'s, or a teacher's)."""
    twins = plan.embedder(model).share_twins
    return MergeJob(dataset=dataset, search=plan.search, share_twins=twins)


def run(inputs, outputs, job: MergeJob, logger=None) -> None:
    from ..search.merge import run as stage_run

    return stage_run(inputs, outputs, job, logger)
