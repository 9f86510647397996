"""The plan: the config as checked, typed options, and one job per stage.

:meth:`Plan.from_config` builds every config block once (defaults from
:mod:`hardneg.options`) and runs every check that spans keys, so a config that cannot work
fails before anything runs, and each check is testable without Snakemake.
:meth:`Plan.job` gives a rule exactly the job its stage's ``run()`` reads
(:mod:`hardneg.stages`).

Imported while the DAG is built, so it imports nothing heavy.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, fields, replace
from pathlib import Path

from . import jobs, stages
from .data.columns import check_table_keys, is_glob, table_columns
from .data.sources import HF_REPO_RE, parse_source
from .evaluate.variants import evaluation_variants, teacher_key, variant_teachers
from .formats import FORMATS
from .io import InputError
from .layout import cross_encoder_cache_key, embed_cache_key, export_key
from .memory import eval_mem_mb, model_size_mb
from .models import model_problem
from .options import (
    BLOCKS,
    PRESETS,
    ConfigError,
    CrossEncoderOptions,
    DatasetOptions,
    EmbedOptions,
    EvaluateOptions,
    MiningOptions,
    ModelOptions,
    PrepareOptions,
    SearchOptions,
    WorkflowOptions,
    check_mining,
    did_you_mean,
    from_config,
    unknown_key,
)

# the top-level keys: the folders, one key per options block, the global mining block
TOP_LEVEL = (*(f.name for f in fields(WorkflowOptions)), *BLOCKS, "mining", "datasets")


# ------------------------------------------------------------------ mining


def resolve_mining(global_mining: dict | None, dataset_mining: dict | None) -> dict:
    """Effective mining options of one dataset.

    A dataset-level ``preset`` starts over from that preset plus the dataset's keys;
    otherwise: global preset (default ``seed``), then global keys, then dataset keys.
    """
    g = dict(global_mining or {})
    d = dict(dataset_mining or {})
    if "preset" in d:
        base = dict(PRESETS[d.pop("preset")])
        return {**base, **d}
    base = dict(PRESETS[g.pop("preset", "seed")])
    return {**base, **g, **d}


def check_top_level(config: dict) -> None:
    for key in config:
        if key not in TOP_LEVEL:
            raise unknown_key("", key, TOP_LEVEL)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The checked config. ``datasets``, ``mining``, ``sources`` and ``variants`` are keyed
    by dataset name; ``variants[name]`` maps each evaluation variant to the options its
    training rows are mined with (``base``, which is not trained: None). ``teachers`` maps
    the variants that name their own teacher to its model options (the others: ``model``)."""

    workflow: WorkflowOptions
    model: ModelOptions
    embed: EmbedOptions
    search: SearchOptions
    cross_encoder: CrossEncoderOptions
    prepare: PrepareOptions
    evaluate: EvaluateOptions
    datasets: dict
    mining: dict
    sources: dict
    variants: dict
    teachers: dict

    @classmethod
    def from_config(cls, config: dict) -> Plan:
        check_top_level(config)
        blocks = {name: from_config(c, config.get(name), name) for name, c in BLOCKS.items()}
        ev = config.get("evaluate") or {}
        if "datasets" in ev:
            blocks["evaluate"] = replace(blocks["evaluate"], datasets=tuple(ev["datasets"]))
        workflow = from_config(WorkflowOptions, {k: config[k] for k in ("results", "output_dir") if k in config}, "")
        datasets, mining, sources = {}, {}, {}
        for name, entry in (config.get("datasets") or {}).items():
            where = f"datasets.{name}"
            datasets[name] = from_config(DatasetOptions, entry, where)
            mining[name] = check_mining(
                resolve_mining(config.get("mining"), datasets[name].mining), blocks["search"].topk, f"{where}.mining"
            )
            try:
                sources[name] = parse_source(datasets[name].source)
            except ValueError as exc:
                raise ConfigError(f"{where}.source: {exc}") from None
            check_table_keys(datasets[name], where, whole_repo=bool(HF_REPO_RE.match(datasets[name].source)))
        variants = {
            name: evaluation_variants(blocks["evaluate"], m, blocks["search"].topk) for name, m in mining.items()
        }
        teachers = variant_teachers(blocks["evaluate"], blocks["model"])
        plan = cls(
            workflow=workflow,
            datasets=datasets,
            mining=mining,
            sources=sources,
            variants=variants,
            teachers=teachers,
            **blocks,
        )
        plan.check()
        return plan

    def check(self) -> None:
        """The checks across blocks."""
        for name in self.evaluate.datasets:
            if name not in self.datasets:
                raise ConfigError(
                    f"evaluate.datasets names {name!r}, which is not in datasets{did_you_mean(name, self.datasets)}"
                )
            ds = self.datasets[name]
            if ds.format == "beir" and ds.qrels_split == self.evaluate.split:
                raise ConfigError(
                    f"evaluate.split ({self.evaluate.split}) is the split datasets.{name} mines (qrels_split): "
                    "held-out queries must come from another split"
                )
        if self.judge and self.judge.false_negatives == "relabel":
            for name, opts in self.mining.items():
                if FORMATS[opts.output_format].one_positive:
                    raise ConfigError(
                        "cross_encoder.false_negatives is relabel, which adds judged negatives to the row's "
                        f"positives, but datasets.{name} writes the {opts.output_format} format (one positive per "
                        "row): use false_negatives: drop, or output_format tevatron or flagembedding"
                    )

    def check_files(self) -> None:
        """What the config names on this machine: every local source exists (relative to
        the working directory), and every model can be loaded (:func:`model_problem`)."""
        for name, src in self.sources.items():
            if src.kind == "local" and is_glob(src.path):
                if not self.local_files(name):
                    raise ConfigError(f"datasets.{name}.source: the glob {src.path} matches no file (in {Path.cwd()})")
            elif src.kind == "local" and not Path(src.path).expanduser().exists():
                raise ConfigError(
                    f"datasets.{name}.source: {src.path} does not exist (relative to {Path.cwd()}); "
                    "fix the path, or give a URL"
                )
        self.check_columns()
        models = [("model.name_or_path", self.model.name_or_path, self.model.revision)]
        if self.cross_encoder.name_or_path:
            models.append(("cross_encoder.name_or_path", self.cross_encoder.name_or_path, ""))
        if self.evaluate.datasets:  # the evaluation's models: only when it is planned
            if self.evaluate.student:
                models.append(("evaluate.student", self.evaluate.student, ""))
            for variant, m in self.teachers.items():
                models.append((teacher_key(self.evaluate, variant), m.name_or_path, m.revision))
        for key, name, revision in models:
            problem = model_problem(name, revision=revision, key=key)
            if problem:
                raise ConfigError(problem)

    def local_tables(self):
        """(name, options, files) of each dataset in the ``table`` format with a local source."""
        from .data.tables import table_files

        for name, ds in self.datasets.items():
            if ds.format == "table" and self.sources[name].kind == "local":
                yield name, ds, table_files(self.local_files(name))

    def check_columns(self) -> None:
        """The columns a local table names are in each file's header (read now, not when
        prepare runs)."""
        from .data.tables import file_columns

        for name, ds, files in self.local_tables():
            for path in files:
                try:
                    file_columns(path, table_columns(ds))
                except InputError as exc:
                    raise ConfigError(f"datasets.{name}: {exc}") from None

    def shard_notes(self) -> list[str]:
        """Why a local table's shard will be empty: a shard is whole blocks of
        ``embed.block_rows`` rows (so that vectors never depend on the shard count)."""
        from .data.tables import quick_row_count

        notes, block = [], self.embed.block_rows
        for name, ds, files in self.local_tables():
            counts = [quick_row_count(p) for p in files] if ds.shards > 1 else []
            if not counts or None in counts:
                continue
            rows = sum(counts)
            blocks = -(-rows // block)
            if blocks >= ds.shards:
                continue
            notes.append(
                f"datasets.{name}.shards is {ds.shards}, but its about {rows:,} rows make {blocks} block(s) of "
                f"embed.block_rows={block:,}, and a shard is whole blocks: {ds.shards - blocks} shard(s) will be "
                f"empty; set embed.block_rows to {max(1, -(-rows // ds.shards)):,} or less to split them"
            )
        return notes

    # ------------------------------------------------------------ derived settings

    @property
    def judge(self) -> jobs.Judge | None:
        """The cross-encoder as a judge of mined negatives, when one is set."""
        ce = self.cross_encoder
        if not ce.name_or_path:
            return None
        return jobs.Judge(false_negatives=ce.false_negatives, false_negative_margin=ce.false_negative_margin)

    @property
    def embed_key(self) -> str:
        return embed_cache_key(self.model, self.embed)

    @property
    def student(self) -> ModelOptions:
        """The model the evaluate stage fine-tunes and scores: ``model:`` itself unless
        ``evaluate.student`` names another, which is loaded as ``model:`` is, without its prompts."""
        name = self.evaluate.student
        if not name or name == self.model.name_or_path:
            return self.model
        return ModelOptions(name_or_path=name, batch_size=self.model.batch_size, backend=self.model.backend)

    def teacher(self, variant: str | None = None) -> ModelOptions:
        """The model whose candidates a variant's rows are mined from (no variant: the mine job's)."""
        return self.teachers.get(variant, self.model)

    def embed_key_of(self, variant: str | None = None) -> str:
        return embed_cache_key(self.teacher(variant), self.embed)

    @property
    def models(self) -> dict[str, ModelOptions]:
        """{embedding cache key: model} of every model that embeds: ``model:`` and the teachers."""
        out = {self.embed_key: self.model}
        for m in self.teachers.values():
            out.setdefault(embed_cache_key(m, self.embed), m)
        return out

    def embedder(self, key: str | None = None) -> ModelOptions:
        """The model of embedding cache key ``key`` (a rule's ``{model}``); none: ``model:``."""
        return self.models[key or self.embed_key]

    @property
    def exports(self) -> dict[str, ModelOptions]:
        """{export folder: model} of every model a job runs exported (backend not torch):
        those that embed, and the student (the base variant's scores; an evaluation file can
        be targeted without ``evaluate.datasets``)."""
        return {export_key(m): m for m in (*self.models.values(), self.student) if m.backend != "torch"}

    def graph(self, model: ModelOptions) -> str | list:
        """The exported graph (its folder) that the jobs of ``model`` run; none for torch."""
        return [] if model.backend == "torch" else f"{self.workflow.results}/exported/{export_key(model)}"

    @property
    def ce_key(self) -> str:
        """The folder of the cross-encoder's scores."""
        return cross_encoder_cache_key(self.cross_encoder)

    def local_files(self, dataset: str):
        """What a local source's prepare job reads: the path, or a glob's matches (sorted)."""
        path = self.sources[dataset].path
        if not is_glob(path):
            return path
        return sorted(p for p in glob.glob(str(Path(path).expanduser()), recursive=True) if Path(p).is_file())

    def max_bad_rows(self, dataset: str) -> int:
        own = self.datasets[dataset].max_bad_rows
        return self.prepare.max_bad_rows if own is None else own

    def eval_mem_mb(self, stage: str) -> int:
        """``mem_mb`` of a ``train`` or ``score`` job (:mod:`hardneg.memory`):
        the training batch, or the encoding batch for scoring, at evaluate's token limit."""
        ev = self.evaluate
        batch = ev.batch_size if stage == "train" else self.model.batch_size
        size = model_size_mb(self.student.name_or_path)
        return eval_mem_mb(stage, batch=batch, tokens=ev.max_seq_length, model_mb=size)

    def variant_names(self) -> list[str]:
        return sorted({v for vs in self.variants.values() for v in vs})

    # ------------------------------------------------------------ jobs

    def job(self, stage: str, **context):
        """The job of one ``stage`` (a rule's name); ``context`` holds the rule's wildcards
        (``dataset``, ``n``, ``shard``, ``variant``; others are ignored) and, for the
        report, its benchmark files."""
        return stages.stage(stage).build(self, **context)

    def settings(self, stage: str, **context) -> dict:
        """What re-runs ``stage``'s job when it changes, as plain values (Snakemake's
        params check compares these)."""
        return jobs.settings(self.job(stage, **context), stage)

    def mining_of(self, dataset: str, variant: str | None = None, **_) -> MiningOptions:
        """The mining options of a dataset's mine job, or of one evaluation variant's."""
        return self.variants[dataset][variant] if variant else self.mining[dataset]

    def output_columns(self, dataset: str) -> tuple:
        """The parquet shapes' first two column names: a table's query and positive
        columns where the config names them, else ``anchor`` and ``positive``."""
        ds = self.datasets[dataset]
        return (ds.query_column or "anchor", ds.positive_column or "positive")


def checked_plan(config: dict, schema_file) -> Plan:
    """The plan of ``config`` as planning makes it (``workflow/rules/common.smk``): the
    schema check first, then every check that spans keys and the local files. A config that
    cannot work raises one :class:`ConfigError` of ``invalid config: ...`` lines, one per
    problem the schema finds (else the first problem the plan finds)."""
    from .schema import schema_problems

    problems = schema_problems(config, schema_file)
    if problems:
        raise ConfigError("\n".join(f"invalid config: {line}" for line in problems))
    try:
        plan = Plan.from_config(config)
        plan.check_files()
    except ConfigError as exc:
        raise ConfigError(f"invalid config: {exc}") from None
    return plan
