"""Export stage (``model.backend`` other than torch): the model, loaded as the embed stage
loads it (fp32, CPU), exported once into its graph folder (:mod:`hardneg.encode.openvino_backend`).
A trained evaluate variant exports its own folder (``inputs.model``)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..stages.export import ExportJob


def run(inputs, outputs, job: ExportJob, logger=None) -> dict:
    """Export into the folder ``outputs.graph``; returns what its ``export.json`` records."""
    import torch

    from .embed import load_model
    from .openvino_backend import export

    torch.set_num_threads(max(1, job.threads))
    m, name = job.model, job.model.name_or_path
    if job.variant:
        m = replace(m, name_or_path=str(inputs.model), revision="")
        name = f"{name} fine-tuned as variant {job.variant}"
    st = load_model(m, "fp32", "cpu")
    prompts = (m.query_prompt, m.passage_prompt)
    return export(st, outputs.graph, name=name, prompts=prompts, threads=job.threads, logger=logger)
