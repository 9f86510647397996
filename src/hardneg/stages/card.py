"""Rule ``card``: the dataset card (``NAME.README.md``) of one mined file: what was mined,
how, and its counts."""

from __future__ import annotations

from dataclasses import asdict

from ..jobs import job


@job
class CardJob:
    """What a card states besides the counts in the stats files."""

    dataset: str
    source: str  # datasets.NAME.source
    checksum: dict  # md5 / sha256, where the config gives them
    model: dict  # the model block
    search: dict  # topk, index (and nlist, nprobe for ivf)
    mining: dict  # the dataset's effective mining options
    columns: tuple = ("anchor", "positive")  # the parquet shapes' first two columns


def build(plan, dataset, **_) -> CardJob:
    ds, s = plan.datasets[dataset], plan.search
    return CardJob(
        dataset=dataset,
        source=ds.source,
        checksum={k: getattr(ds, k) for k in ("md5", "sha256") if getattr(ds, k) is not None},
        model=asdict(plan.model),
        search={
            "topk": s.topk,
            "index": s.index,
            **({"nlist": s.nlist, "nprobe": s.nprobe} if s.index == "ivf" else {}),
        },
        mining=asdict(plan.mining[dataset]),
        columns=plan.output_columns(dataset),
    )


def run(inputs, outputs, job: CardJob, logger=None) -> dict:
    from ..report.card import run as stage_run

    return stage_run(inputs, outputs, job, logger)
