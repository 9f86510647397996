"""Rule ``evaluation``: one evaluated dataset's variants compared: metrics with paired
bootstrap intervals, as JSON and a report page."""

from __future__ import annotations

from dataclasses import asdict

from ..jobs import job
from ..options import EvaluateOptions


@job
class EvaluationJob:
    dataset: str
    variants: tuple  # names, in the order of inputs.per_query
    mining: dict  # {variant: its mining options (dict) or None}
    teachers: dict  # {variant: the model its rows were mined with, or None (base, in_batch)}
    teacher_tokens: dict  # {variant: that model's max_seq_length (None: the model's own)}
    student: str  # the model fine-tuned and scored
    evaluate: EvaluateOptions  # bootstrap and seed


def build(plan, dataset, **_) -> EvaluationJob:
    vs = plan.variants[dataset]
    return EvaluationJob(
        dataset=dataset,
        variants=tuple(vs),
        mining={v: (asdict(o) if o is not None else None) for v, o in vs.items()},
        teachers={v: None if v in ("base", "in_batch") else plan.teacher(v).name_or_path for v in vs},
        teacher_tokens={v: None if v in ("base", "in_batch") else plan.teacher(v).max_seq_length for v in vs},
        student=plan.student.name_or_path,
        evaluate=plan.evaluate,
    )


def run(inputs, outputs, job: EvaluationJob, logger=None) -> dict:
    from ..evaluate.evaluation import run as stage_run

    return stage_run(inputs, outputs, job, logger)
