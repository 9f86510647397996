"""Rule ``prepare``: one raw dataset into the common tables (queries, passages, qrels,
given negatives, twins); bad rows counted, capped."""

from __future__ import annotations

from ..data.columns import TableColumns, table_columns
from ..jobs import job


@job
class PrepareJob:
    dataset: str
    format: str  # pairs | medmcqa | beir | table
    max_rows: int | None
    max_bad_rows: int  # the dataset's, else prepare.max_bad_rows
    qrels_split: str
    columns: TableColumns | None = None  # table: the columns named in the config


def build(plan, dataset, **_) -> PrepareJob:
    ds = plan.datasets[dataset]
    return PrepareJob(
        dataset=dataset,
        format=ds.format,
        max_rows=ds.max_rows,
        max_bad_rows=plan.max_bad_rows(dataset),
        qrels_split=ds.qrels_split,
        columns=table_columns(ds) if ds.format == "table" else None,
    )


def run(inputs, outputs, job: PrepareJob, logger=None) -> dict:
    from ..data.prepare import run as stage_run

    return stage_run(inputs, outputs, job, logger)
