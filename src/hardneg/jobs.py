"""What every stage's job dataclass shares (:mod:`hardneg.stages` holds one per rule).

A job is exactly what its stage's ``run(inputs, outputs, job, logger)`` reads besides its
files: :class:`hardneg.plan.Plan` builds it from the checked config, the workflow's rules
pass it to their script unchanged. Which of a job's values re-run it when they change is
read from field metadata (:func:`settings`), never from a list kept by hand.

Imported while the DAG is built, so it imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

job = dataclass(frozen=True, kw_only=True)


def runtime(doc: str, default=None):
    """A job field that never re-runs the job (threads: Snakemake may give fewer than asked)."""
    return field(default=default, metadata={"doc": doc, "reruns": False})


def cache_of(doc: str = "the dataset whose cache the job writes or reads (its files' path names it)"):
    """The dataset of a cache job: part of the files' paths already, so never a re-run."""
    return field(metadata={"doc": doc, "reruns": False})


def settings(obj, stage: str) -> dict:
    """The plain values of ``obj`` (a job, or an options block inside one) whose change
    re-runs ``stage``: every field but those whose ``reruns`` metadata leaves it out."""
    out = {}
    for f in fields(obj):
        reruns = f.metadata.get("reruns", True)
        if reruns is False or (isinstance(reruns, tuple) and stage not in reruns):
            continue
        value = getattr(obj, f.name)
        out[f.name] = settings(value, stage) if is_dataclass(value) else value
    return out


@job
class Judge:
    """The cross-encoder as a judge (``cross_encoder.false_negatives`` and
    ``false_negative_margin``, whose defaults are :class:`CrossEncoderOptions`'): a candidate
    is judged relevant when it scores at least the query's lowest positive minus the margin."""

    false_negatives: str  # keep | drop | relabel
    false_negative_margin: float
