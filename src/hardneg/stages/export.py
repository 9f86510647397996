"""Rule ``export``: the model (or a trained variant) exported once for ``model.backend``,
checked against torch before it is renamed into place."""

from __future__ import annotations

from ..jobs import job, runtime
from ..options import ModelOptions


@job
class ExportJob:
    """Export the model (a trained variant: its folder, ``inputs.model``) for ``model.backend``."""

    model: ModelOptions
    variant: str = ""  # empty: the configured model
    threads: int = runtime("torch threads of the job")


def build(plan, export=None, variant="", **_) -> ExportJob:
    """``export``: the folder of the model exported (``model:``, a teacher or the student).
    Also the job of ``eval_export`` (``use rule export as eval_export``): a trained variant,
    the student fine-tuned."""
    model = plan.student if variant else plan.exports[export] if export else plan.model
    return ExportJob(model=model, variant=variant, threads=plan.embed.threads)


def run(inputs, outputs, job: ExportJob, logger=None) -> dict:
    from ..encode.export import run as stage_run

    return stage_run(inputs, outputs, job, logger)
