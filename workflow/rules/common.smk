# Paths, and each rule's job from the plan (hardneg.plan checks the config). Nothing heavy.
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from hardneg.formats import file_tag
from hardneg.options import PLOTS, ConfigError
from hardneg.layout import benchmark_files, benchmark_patterns
from hardneg.plan import checked_plan

try:  # the schema's problems, then the plan's ("invalid config: KEY: ..." lines); the
    # schema through the source cache, so that a deployed module (also remote) finds it
    PLAN = checked_plan(config, workflow.source_path("../schemas/config.schema.yaml"))
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

for note in PLAN.shard_notes():  # said at -n, before anything runs
    logger.warning(note)
RESULTS = PLAN.workflow.results
OUTPUT_DIR = PLAN.workflow.output_dir
# logs per output folder: runs into two output folders never share a log or a benchmark
OUT_KEY = re.sub(r"[^A-Za-z0-9_.-]+", "_", OUTPUT_DIR).strip("_") or "out"
DATASETS = PLAN.datasets
EVALUATE = PLAN.evaluate
EVAL_OUT = EVALUATE.output_dir
VARIANT_NAMES = PLAN.variant_names()
JUDGED = bool(PLAN.cross_encoder.name_or_path)

# cache folders, keyed by what changes their contents: mining never re-embeds or searches.
# {model}: the embedding cache key of model: (EMBED_KEY) or of a variant's teacher
EMBED_KEY = PLAN.embed_key
EMB_DIR = f"{RESULTS}/embeddings/{{model}}/{{dataset}}/{{n}}shards"
# a model's graph, exported once where its backend is not torch
EXPORT_DIR = f"{RESULTS}/exported/{{export}}"
SEARCH_KEY = PLAN.search.cache_key
SEARCH_DIR = f"{RESULTS}/search/{{model}}/{SEARCH_KEY}/{{dataset}}"
PREP_DIR = f"{RESULTS}/prepared/{{dataset}}"
CE_KEY = PLAN.ce_key
RESCORE_DIR = f"{SEARCH_DIR}/{CE_KEY}"
HOLDOUT_DIR = f"{RESULTS}/evaluate/{{dataset}}"
# a variant's training rows, model and scores: next to the candidates they are mined from
EVAL_DIR = f"{RESCORE_DIR if JUDGED else SEARCH_DIR}/evaluate"
EVAL_LOGS = f"logs/{EVAL_DIR}/{{variant}}"


wildcard_constraints:
    dataset="|".join(re.escape(d) for d in DATASETS),
    n=r"\d+",
    shard=r"\d+",
    filename=r"[^/]+",
    kind="hf|http",
    split=r"[^/]+",
    ext=r"([a-z-]+-[0-9a-f]{8}\.)?(jsonl|parquet)",
    variant="|".join(re.escape(v) for v in VARIANT_NAMES),
    model="|".join(re.escape(k) for k in PLAN.models),
    export="|".join(re.escape(k) for k in PLAN.exports),


def job(stage, **context):
    """A rule's params: the job its stage's run() reads, and, as plain values, the
    settings whose change re-runs it (Snakemake compares those; the job it cannot)."""
    return {
        "job": lambda wc: PLAN.job(stage, **dict(wc.items()), **context),
        "settings": lambda wc: PLAN.settings(stage, **dict(wc.items()), **context),
    }


def output_ext(dataset):
    return file_tag(PLAN.mining[dataset])


def raw_input(wildcards):
    """The raw file a dataset is prepared from: a download, or a local path in place."""
    src = PLAN.sources[wildcards.dataset]
    if src.kind == "local":
        return PLAN.local_files(wildcards.dataset)
    if src.kind == "hf" and not src.path:  # a hub repo's split: a folder of its files
        return f"resources/raw/hf-split/{wildcards.dataset}/{DATASETS[wildcards.dataset].split}"
    return f"resources/raw/{src.kind}/{wildcards.dataset}/{src.filename}"


def key_of(wc):
    """The embedding cache key of a job: its own, or model:'s (the mine job's)."""
    return wc.get("model", EMBED_KEY)


def shard_files(wc, pattern):
    n = DATASETS[wc.dataset].shards
    return expand(pattern, dataset=wc.dataset, n=n, shard=range(n), model=key_of(wc))


def embedding_files(side, ext="npy"):
    return lambda wc: shard_files(wc, f"{EMB_DIR}/{side}.{{shard}}.{ext}")


def search_files(kind):
    return lambda wc: shard_files(wc, f"{SEARCH_DIR}/{{n}}shards/{kind}.{{shard}}.npy")


def scored_candidates(kind, ext="parquet"):
    """The candidate tables mining reads: the merge's, or the cross-encoder's when set."""
    pattern = f"{RESCORE_DIR if JUDGED else SEARCH_DIR}/{kind}.{ext}"
    return lambda wc: pattern.format(model=key_of(wc), dataset=wc.dataset)


def mining_input(name, files):
    """A mine rule's input that only mining options declaring it in `needs` ask for."""
    return lambda wc: files(wc) if name in PLAN.mining_of(**wc).inputs else []


def mined_output(dataset):
    return f"{OUTPUT_DIR}/{dataset}.{output_ext(dataset)}"


def plot_files(dataset):
    return [
        f"{OUTPUT_DIR}/plots/{dataset}.{output_ext(dataset)}/{p}.svg" for p in PLOTS
    ]


def examples_file(dataset):
    return f"{OUTPUT_DIR}/examples/{dataset}.{output_ext(dataset)}.html"


def mine_stats_file(dataset):
    return f"{OUTPUT_DIR}/stats/{dataset}.{output_ext(dataset)}.mine_stats.json"


def size_mb(paths):
    return sum(Path(p).stat().st_size for p in paths if Path(p).exists()) / 1e6


# Per-job time and memory (Snakemake benchmark files), read back by the report rule.
BENCH = benchmark_patterns(PLAN, OUT_KEY)


def holdout_inputs(wildcards):
    """Prepare's tables; for a BeIR dataset also its raw file (the held-out split)."""
    tables = {k: f"{PREP_DIR}/{k}.parquet" for k in ("queries", "passages", "qrels")}
    out = {k: v.format(dataset=wildcards.dataset) for k, v in tables.items()}
    if DATASETS[wildcards.dataset].format == "beir":
        out["raw"] = raw_input(wildcards)
    return out


def score_inputs(wildcards):
    """The held-out queries and the corpus; a trained variant's model; the exported graph."""
    ds, variant = wildcards.dataset, wildcards.variant
    out = {
        "heldout": f"{HOLDOUT_DIR}/heldout.parquet".format(dataset=ds),
        "passages": f"{PREP_DIR}/passages.parquet".format(dataset=ds),
    }
    trained = f"{EVAL_DIR}/{variant}".format(dataset=ds, model=wildcards.model)
    if variant != "base":
        out["model"] = f"{trained}/model"
    if PLAN.student.backend != "torch":
        out["exported"] = (
            PLAN.graph(PLAN.student) if variant == "base" else f"{trained}/exported"
        )
    return out


def variant_files(name, trained_only=False):
    """File ``name`` of each of a dataset's variants (or of the trained ones only)."""

    def _files(wildcards):
        ds = wildcards.dataset
        names = [v for v in PLAN.variants[ds] if not (trained_only and v == "base")]
        return [
            f"{EVAL_DIR}/{v}/{name}".format(dataset=ds, model=PLAN.embed_key_of(v))
            for v in names
        ]

    return _files


def evaluation_file(dataset):
    return f"{EVAL_OUT}/{dataset}.json"
