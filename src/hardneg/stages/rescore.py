"""Rule ``rescore``: cross-encoder scores for the cached candidates and positives (when
``cross_encoder.name_or_path`` is set); mining reads them instead of the merge's."""

from __future__ import annotations

from ..jobs import cache_of, job
from ..options import CrossEncoderOptions


@job
class RescoreJob:
    dataset: str = cache_of()
    cross_encoder: CrossEncoderOptions


def build(plan, dataset, **_) -> RescoreJob:
    return RescoreJob(dataset=dataset, cross_encoder=plan.cross_encoder)


def run(inputs, outputs, job: RescoreJob, logger=None) -> None:
    from ..search.rescore import run as stage_run

    return stage_run(inputs, outputs, job, logger)
