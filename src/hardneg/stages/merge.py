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


def build(plan, dataset, **_) -> MergeJob:
    return MergeJob(dataset=dataset, search=plan.search, share_twins=plan.share_twins)


def run(inputs, outputs, job: MergeJob, logger=None) -> None:
    from ..merge import run as stage_run

    return stage_run(inputs, outputs, job, logger)
