"""Rule ``download``: fetch a remote source (hub file or http URL) into ``resources/raw``;
a local machine's job (``localrule``), as compute nodes often have no internet."""

from __future__ import annotations

from ..jobs import job


@job
class DownloadJob:
    dataset: str
    source: str  # datasets.NAME.source (hf:// or https://)
    md5: str | None
    sha256: str | None
    split: str | None = None  # a hub repo's split (hardneg.data.hub)
    subset: str | None = None


def build(plan, dataset, **_) -> DownloadJob:
    ds = plan.datasets[dataset]
    return DownloadJob(
        dataset=dataset, source=ds.source, md5=ds.md5, sha256=ds.sha256, split=ds.split, subset=ds.subset
    )


def run(inputs, outputs, job: DownloadJob, logger=None) -> None:
    from ..data.download import run as stage_run

    return stage_run(inputs, outputs, job, logger)
