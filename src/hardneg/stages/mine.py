"""Rule ``mine``: the negatives of every query from the cached candidates, written in the
dataset's output format."""

from __future__ import annotations

from ..jobs import Judge, job, runtime
from ..options import MiningOptions


@job
class MineJob:
    dataset: str  # for messages and mine_stats.json
    mining: MiningOptions
    judge: Judge | None = None  # only when a cross-encoder rescored the candidates
    columns: tuple = ("anchor", "positive")  # the parquet shapes' first two columns
    threads: int = runtime("threads of the job: with 2, the next runs are read and decided while one is written", 1)


def build(plan, dataset, variant=None, **_) -> MineJob:
    """Also the job of ``eval_mine`` (``use rule mine as eval_mine``): a variant's
    training rows, with that variant's mining options."""
    mining = plan.mining_of(dataset, variant)
    if variant is not None:
        return MineJob(dataset=dataset, mining=mining, judge=plan.judge)
    return MineJob(dataset=dataset, mining=mining, judge=plan.judge, columns=plan.output_columns(dataset))


def run(inputs, outputs, job: MineJob, logger=None) -> dict:
    from ..mining.mine import run as stage_run

    return stage_run(inputs, outputs, job, logger)
