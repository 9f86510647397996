"""Where a run's files lie: the cache folders' names (keyed by the options that change
what is in them) and the per-job benchmark files (Snakemake's ``benchmark:``), so that the
rules that write them and the report that reads them share one layout.

Imported while the DAG is built, so it imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import fields

from .formats import file_tag
from .options import CrossEncoderOptions, EmbedOptions, ModelOptions


def model_slug(name_or_path: str) -> str:
    """A model's last path part, in plain characters (``pkg:gt_x`` gives ``gt_x``)."""
    return re.sub(r"^.*[/:]|[^A-Za-z0-9_.-]+", "", name_or_path)


def cache_key(name_or_path: str, settings: dict) -> str:
    """A readable, stable folder name: the model's last path part and a hash of ``settings``."""
    return (
        model_slug(name_or_path) + "-" + hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    )


def cache_settings(*blocks) -> dict:
    """The values of the options marked ``cache`` in the options ``blocks``."""
    return {f.name: getattr(o, f.name) for o in blocks for f in fields(o) if f.metadata["cache"]}


def embed_settings(model: ModelOptions, embed: EmbedOptions) -> dict:
    """Everything that changes the vectors, and nothing else: the options marked ``cache``,
    and whether queries that are also passages share their vector."""
    return {**cache_settings(model, embed), "share_twins": model.share_twins}


def export_key(model: ModelOptions) -> str:
    """The folder of a model's exported graph: one per model, revision, sequence limit and prompts."""
    return cache_key(model.name_or_path, cache_settings(model))


def embed_cache_key(model: ModelOptions, embed: EmbedOptions) -> str:
    return cache_key(model.name_or_path, embed_settings(model, embed))


def cross_encoder_cache_key(ce: CrossEncoderOptions) -> str:
    return "ce-" + cache_key(ce.name_or_path, ce.rescore_settings)


def benchmark_patterns(plan, out_key: str) -> dict:
    """{stage: path pattern} with the run's cache keys filled in, but the embedding's
    (``{model}``: ``model:``'s or a teacher's); ``out_key`` keeps runs into different output
    folders apart."""
    search, ce = plan.search.cache_key, plan.ce_key
    return {
        "prepare": "logs/benchmarks/prepare/{dataset}.tsv",
        "embed": "logs/benchmarks/embed/{model}/{dataset}/{n}shards/{shard}.tsv",
        "search": f"logs/benchmarks/search/{{model}}/{search}/{{dataset}}/{{n}}shards/{{shard}}.tsv",
        "merge": f"logs/benchmarks/merge/{{model}}/{search}/{{dataset}}.tsv",
        "rescore": f"logs/benchmarks/rescore/{{model}}/{ce}/{{dataset}}.tsv",
        "mine": f"logs/benchmarks/mine/{out_key}/{{dataset}}.{{ext}}.tsv",
    }


def benchmark_files(plan, patterns: dict, dataset: str) -> dict:
    """{stage: [benchmark files]} of one dataset's jobs (those of the mined file, by
    ``model:``), in pipeline order."""
    n, model = plan.datasets[dataset].shards, plan.embed_key
    shards = [{"dataset": dataset, "n": n, "shard": s, "model": model} for s in range(n)]
    out = {
        "prepare": [patterns["prepare"].format(dataset=dataset)],
        "embed": [patterns["embed"].format(**w) for w in shards],
        "search": [patterns["search"].format(**w) for w in shards],
        "merge": [patterns["merge"].format(dataset=dataset, model=model)],
    }
    if plan.cross_encoder.name_or_path:
        out["rescore"] = [patterns["rescore"].format(dataset=dataset, model=model)]
    ext = file_tag(plan.mining[dataset])
    out["mine"] = [patterns["mine"].format(dataset=dataset, ext=ext)]
    return out
