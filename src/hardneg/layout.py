"""Where the per-job benchmark files (Snakemake's ``benchmark:``) of a run lie, so that
the rules that write them and the report that reads them share one layout.

Imported while the DAG is built, so it imports nothing heavy.
"""

from __future__ import annotations

from .formats import file_tag
from .options import cross_encoder_cache_key


def benchmark_patterns(plan, out_key: str) -> dict:
    """{stage: path pattern} with the run's cache keys filled in; ``out_key`` keeps runs
    into different output folders apart."""
    emb, search, ce = plan.embed_key, plan.search.cache_key, cross_encoder_cache_key(plan.cross_encoder)
    return {
        "prepare": "logs/benchmarks/prepare/{dataset}.tsv",
        "embed": f"logs/benchmarks/embed/{emb}/{{dataset}}/{{n}}shards/{{shard}}.tsv",
        "search": f"logs/benchmarks/search/{emb}/{search}/{{dataset}}/{{n}}shards/{{shard}}.tsv",
        "merge": f"logs/benchmarks/merge/{emb}/{search}/{{dataset}}.tsv",
        "rescore": f"logs/benchmarks/rescore/{ce}/{{dataset}}.tsv",
        "mine": f"logs/benchmarks/mine/{out_key}/{{dataset}}.{{ext}}.tsv",
    }


def benchmark_files(plan, patterns: dict, dataset: str) -> dict:
    """{stage: [benchmark files]} of one dataset's jobs, in pipeline order."""
    n = plan.datasets[dataset].shards
    shards = [{"dataset": dataset, "n": n, "shard": s} for s in range(n)]
    out = {
        "prepare": [patterns["prepare"].format(dataset=dataset)],
        "embed": [patterns["embed"].format(**w) for w in shards],
        "search": [patterns["search"].format(**w) for w in shards],
        "merge": [patterns["merge"].format(dataset=dataset)],
    }
    if plan.cross_encoder.name_or_path:
        out["rescore"] = [patterns["rescore"].format(dataset=dataset)]
    ext = file_tag(plan.mining[dataset])
    out["mine"] = [patterns["mine"].format(dataset=dataset, ext=ext)]
    return out
