"""Evaluation summary stage: the main metric of every evaluated dataset's variants, one table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .evaluation import write_summary

if TYPE_CHECKING:
    from ..stages.evaluation_summary import EvaluationSummaryJob


def run(inputs, outputs, job: EvaluationSummaryJob, logger=None) -> str:
    """``outputs[0]`` (``evaluation/summary.md``) from every ``evaluation/NAME.json`` in ``inputs``."""
    text = write_summary(list(inputs), outputs[0])
    if logger:
        logger.info("%s", text)
    return text
