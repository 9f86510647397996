"""One job dataclass per stage: exactly what that stage's ``run(inputs, outputs, job,
logger)`` reads besides its files.

:class:`hardneg.plan.Plan` builds them from the checked config; the workflow's rules pass
them to their scripts unchanged. Which of a job's values re-run it when they change is read
from field metadata (:func:`settings`), never from a list kept by hand.

Imported while the DAG is built, so it imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

from .columns import TableColumns
from .options import CrossEncoderOptions, EmbedOptions, EvaluateOptions, MiningOptions, ModelOptions, SearchOptions

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
class DownloadJob:
    dataset: str
    source: str  # datasets.NAME.source (hf:// or https://)
    md5: str | None
    sha256: str | None
    split: str | None = None  # a hub repo's split (hardneg.hub)
    subset: str | None = None


@job
class PrepareJob:
    dataset: str
    format: str  # pairs | medmcqa | beir | table
    max_rows: int | None
    max_bad_rows: int  # the dataset's, else prepare.max_bad_rows
    qrels_split: str
    columns: TableColumns | None = None  # table: the columns named in the config


@job
class EmbedJob:
    dataset: str = cache_of()
    model: ModelOptions
    embed: EmbedOptions
    shard: int
    n_shards: int
    share_twins: bool  # queries that are also passages take that passage's vector
    threads: int = runtime("torch threads of the job")


@job
class ExportJob:
    """Export the model (a trained variant: its folder, ``inputs.model``) for ``model.backend``."""

    model: ModelOptions
    variant: str = ""  # empty: the configured model
    threads: int = runtime("torch threads of the job")


@job
class SearchJob:
    dataset: str = cache_of()
    search: SearchOptions
    share_twins: bool
    threads: int = runtime("faiss and exact-rescoring threads of the job")


@job
class MergeJob:
    dataset: str = cache_of()
    search: SearchOptions
    share_twins: bool


@job
class RescoreJob:
    dataset: str = cache_of()
    cross_encoder: CrossEncoderOptions


@job
class Judge:
    """The cross-encoder as a judge (``cross_encoder.false_negatives`` and
    ``false_negative_margin``, whose defaults are :class:`CrossEncoderOptions`'): a candidate
    is judged relevant when it scores at least the query's lowest positive minus the margin."""

    false_negatives: str  # keep | drop | relabel
    false_negative_margin: float


@job
class MineJob:
    dataset: str  # for messages and mine_stats.json
    mining: MiningOptions
    judge: Judge | None = None  # only when a cross-encoder rescored the candidates
    columns: tuple = ("anchor", "positive")  # the parquet shapes' first two columns


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


@job
class FolderCardJob:
    """The output folder's README.md: one config per dataset."""

    datasets: tuple  # the datasets, in the order of the config (and of the cards)


@job
class PlotsJob:
    dataset: str


@job
class ExamplesJob:
    dataset: str
    output_format: str
    seed: int
    judge: bool  # the candidates' scores are a cross-encoder's


@job
class ReportJob:
    benchmarks: dict  # {dataset: {stage: [benchmark files]}}


@job
class HoldoutJob:
    dataset: str
    format: str  # pairs | medmcqa | beir
    evaluate: EvaluateOptions  # split (BeIR), holdout_fraction (pairs), max_holdout
    max_bad_rows: int  # BeIR: bad rows of the held-out split skipped before failing


@job
class TrainJob:
    dataset: str
    variant: str
    model: ModelOptions
    evaluate: EvaluateOptions
    negatives: int  # mined negatives per row (0 for in_batch)
    threads: int = runtime("torch threads of the job")


@job
class ScoreJob:
    dataset: str
    variant: str
    model: ModelOptions  # base: this model; a trained variant: its folder (inputs.model)
    evaluate: EvaluateOptions
    search: SearchOptions  # device and overfetch of the exact search
    block_rows: int  # rows per encode call
    threads: int = runtime("torch and search threads of the job")


@job
class EvaluationJob:
    dataset: str
    variants: tuple  # names, in the order of inputs.per_query
    mining: dict  # {variant: its mining options (dict) or None}
    evaluate: EvaluateOptions  # bootstrap and seed


@job
class SummaryJob:
    """The evaluation summary reads its inputs only."""
