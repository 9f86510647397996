import re
import sys
from dataclasses import asdict
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

if CLI_DATASETS is not None:
    config["datasets"] = CLI_DATASETS

validate(config, schema="../schemas/config.schema.yaml")

sys.path.insert(0, str(Path(workflow.basedir) / "workflow_scripts"))
# hnm.options and hnm.sources import nothing heavy (no numpy, pyarrow or torch)
from hnm.options import (
    OUTPUT_EXT,
    PLOTS,
    ConfigError,
    CrossEncoderOptions,
    EmbedOptions,
    EvaluateOptions,
    ModelOptions,
    SearchOptions,
    check_mining,
    cross_encoder_cache_key,
    embed_cache_key,
    evaluation_variants,
    resolve_mining,
)  # noqa: E402
from hnm.sources import parse_source  # noqa: E402

RESULTS = config["results"]
OUTPUT_DIR = config["output_dir"]
# logs of the jobs that write into OUTPUT_DIR are kept apart per output folder, so that
# runs into two output folders from one working directory never share a log or benchmark
OUT_KEY = re.sub(r"[^A-Za-z0-9_.-]+", "_", OUTPUT_DIR).strip("_") or "out"
DATASETS = config["datasets"]
MODEL = config["model"]
EMBED = config["embed"]
SEARCH = config["search"]
TOPK = SEARCH["topk"]
CROSS_ENCODER = config["cross_encoder"]


def _mining_for(name):
    where = f"datasets.{name}.mining"
    try:
        return check_mining(
            resolve_mining(config.get("mining"), DATASETS[name].get("mining")),
            TOPK,
            where,
        )
    except ConfigError as exc:
        raise WorkflowError(f"invalid config: {exc}")


# {dataset: MiningOptions}, checked before anything runs
MINING = {name: _mining_for(name) for name in DATASETS}
SOURCES = {}
for _name, _ds in DATASETS.items():
    try:
        SOURCES[_name] = parse_source(_ds["source"])
    except ValueError as exc:
        raise WorkflowError(f"invalid config: datasets.{_name}.source: {exc}")


# evaluate: fine-tune on each variant's mined rows, score held-out queries
EVALUATE = EvaluateOptions(
    **{**config["evaluate"], "datasets": tuple(config["evaluate"]["datasets"])}
)
for _name in EVALUATE.datasets:
    if _name not in DATASETS:
        raise WorkflowError(
            f"invalid config: evaluate.datasets names {_name!r}, which is not in datasets"
        )
    if (
        DATASETS[_name]["format"] == "beir"
        and DATASETS[_name]["qrels_split"] == EVALUATE.split
    ):
        raise WorkflowError(
            f"invalid config: evaluate.split ({EVALUATE.split}) is the split datasets.{_name} mines "
            "(qrels_split): held-out queries must come from another split"
        )
try:
    # {dataset: {variant: MiningOptions of its training rows, or None for base}}
    EVAL_VARIANTS = {
        name: evaluation_variants(EVALUATE, MINING[name], TOPK) for name in DATASETS
    }
except ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}")
VARIANT_NAMES = sorted({v for vs in EVAL_VARIANTS.values() for v in vs})
EVAL_OUT = EVALUATE.output_dir


# With equal prompts, a query whose text is also a passage takes the passage's vector.
SHARE_TWINS = ModelOptions(**MODEL).share_twins
# The embeddings' cache folder: keyed by the options that change the vectors only, so
# mining and search settings never re-embed.
EMBED_KEY = embed_cache_key(ModelOptions(**MODEL), EmbedOptions(**EMBED))
EMB_DIR = f"{RESULTS}/embeddings/{EMBED_KEY}/{{dataset}}/{{n}}shards"
SEARCH_KEY = SearchOptions(**SEARCH).cache_key
SEARCH_DIR = f"{RESULTS}/search/{EMBED_KEY}/{SEARCH_KEY}/{{dataset}}"
PREP_DIR = f"{RESULTS}/prepared/{{dataset}}"
CE_KEY = cross_encoder_cache_key(CrossEncoderOptions(**CROSS_ENCODER))
# the cross-encoder as a judge of mined negatives (mine's, not rescore's, setting)
JUDGE = (
    {
        "false_negatives": CROSS_ENCODER["false_negatives"],
        "margin": CROSS_ENCODER["false_negative_margin"],
    }
    if CROSS_ENCODER["name_or_path"]
    else None
)
if JUDGE and JUDGE["false_negatives"] == "relabel":
    for _name, _opts in MINING.items():
        if _opts.output_format == "sentence-transformers":
            raise WorkflowError(
                f"invalid config: cross_encoder.false_negatives is relabel, which adds judged negatives to the "
                f"row's positives, but datasets.{_name} writes the sentence-transformers format (one positive "
                "per row): use false_negatives: drop, or output_format tevatron or flagembedding"
            )
RESCORE_DIR = f"{SEARCH_DIR}/{CE_KEY}"
HOLDOUT_DIR = f"{RESULTS}/evaluate/{{dataset}}"
# a variant's training rows, model and scores: next to the candidates they are mined from
EVAL_DIR = f"{RESCORE_DIR if CROSS_ENCODER['name_or_path'] else SEARCH_DIR}/evaluate"
EVAL_LOGS = f"logs/{EVAL_DIR}/{{variant}}"
# what a variant's training depends on (datasets, variants and bootstrap do not retrain)
TRAINING = {
    k: getattr(EVALUATE, k)
    for k in (
        "max_steps",
        "batch_size",
        "learning_rate",
        "warmup_ratio",
        "max_seq_length",
        "seed",
    )
}


wildcard_constraints:
    dataset="|".join(re.escape(d) for d in DATASETS),
    n=r"\d+",
    shard=r"\d+",
    filename=r"[^/]+",
    kind="hf|http",
    ext="jsonl|parquet",
    variant="|".join(re.escape(v) for v in VARIANT_NAMES),


def n_shards(dataset):
    return DATASETS[dataset]["shards"]


def output_ext(dataset):
    return OUTPUT_EXT[MINING[dataset].output_format]


def raw_input(wildcards):
    """The raw file a dataset is prepared from: a download, or a local path in place."""
    src = SOURCES[wildcards.dataset]
    if src.kind == "local":
        return src.path
    return f"resources/raw/{src.kind}/{wildcards.dataset}/{src.filename}"


def shard_files(dataset, pattern):
    n = n_shards(dataset)
    return expand(pattern, dataset=dataset, n=n, shard=range(n))


def embedding_files(side, ext="npy"):
    def _files(wildcards):
        return shard_files(wildcards.dataset, f"{EMB_DIR}/{side}.{{shard}}.{ext}")

    return _files


def search_shard_files(kind):
    def _files(wildcards):
        return shard_files(
            wildcards.dataset, f"{SEARCH_DIR}/{{n}}shards/{kind}.{{shard}}.npy"
        )

    return _files


def scored_candidates(kind):
    """The candidate tables mining reads: the merge's, or the cross-encoder's when set."""
    if CROSS_ENCODER["name_or_path"]:
        return f"{RESCORE_DIR}/{kind}.parquet"
    return f"{SEARCH_DIR}/{kind}.parquet"


def near_copy_vectors(wildcards):
    """The passage vectors mine compares candidates with their positives by, when the
    mining options set max_positive_similarity (otherwise none: mine never waits on them).
    An evaluation variant's job (``variant`` wildcard) uses that variant's options."""
    if "variant" in wildcards.keys():
        opts = EVAL_VARIANTS[wildcards.dataset][wildcards.variant]
    else:
        opts = MINING[wildcards.dataset]
    if opts.max_positive_similarity is None:
        return []
    return embedding_files("passages")(wildcards)


def mined_output(dataset):
    return f"{OUTPUT_DIR}/{dataset}.{output_ext(dataset)}"


def plot_files(dataset):
    return [
        f"{OUTPUT_DIR}/plots/{dataset}.{output_ext(dataset)}/{name}.svg"
        for name in PLOTS
    ]


def examples_file(dataset):
    return f"{OUTPUT_DIR}/examples/{dataset}.{output_ext(dataset)}.html"


def mine_stats_file(dataset):
    return f"{OUTPUT_DIR}/stats/{dataset}.{output_ext(dataset)}.mine_stats.json"


def mining_options(wildcards):
    """The dataset's checked mining options, as the dict its scripts rebuild them from."""
    return asdict(MINING[wildcards.dataset])


def download_params(wildcards):
    """What a download depends on: the source and its checksums."""
    ds = DATASETS[wildcards.dataset]
    return {"source": ds["source"], "md5": ds.get("md5"), "sha256": ds.get("sha256")}


def size_mb(paths):
    return sum(Path(p).stat().st_size for p in paths if Path(p).exists()) / 1e6


# Per-job time and memory (Snakemake benchmark files), read back by the report rule.
BENCH = {
    "prepare": "logs/benchmarks/prepare/{dataset}.tsv",
    "embed": f"logs/benchmarks/embed/{EMBED_KEY}/{{dataset}}/{{n}}shards/{{shard}}.tsv",
    "search": f"logs/benchmarks/search/{EMBED_KEY}/{SEARCH_KEY}/{{dataset}}/{{n}}shards/{{shard}}.tsv",
    "merge": f"logs/benchmarks/merge/{EMBED_KEY}/{SEARCH_KEY}/{{dataset}}.tsv",
    "rescore": f"logs/benchmarks/rescore/{CE_KEY}/{{dataset}}.tsv",
    "mine": f"logs/benchmarks/mine/{OUT_KEY}/{{dataset}}.{{ext}}.tsv",
}


def benchmark_files(dataset):
    """{stage: [benchmark files]} of one dataset's jobs, in pipeline order."""
    out = {
        "prepare": [BENCH["prepare"].format(dataset=dataset)],
        "embed": shard_files(dataset, BENCH["embed"]),
        "search": shard_files(dataset, BENCH["search"]),
        "merge": [BENCH["merge"].format(dataset=dataset)],
    }
    if CROSS_ENCODER["name_or_path"]:
        out["rescore"] = [BENCH["rescore"].format(dataset=dataset)]
    out["mine"] = [BENCH["mine"].format(dataset=dataset, ext=output_ext(dataset))]
    return out


def evaluated(dataset):
    return dataset in EVALUATE.datasets


def trained_variants(dataset):
    """The variants of a dataset that are mined and trained (all but base)."""
    return [v for v in EVAL_VARIANTS[dataset] if v != "base"]


def eval_mining_options(wildcards):
    """The MiningOptions a variant's training rows are mined with, as a dict."""
    return asdict(EVAL_VARIANTS[wildcards.dataset][wildcards.variant])


def holdout_inputs(wildcards):
    """Prepare's tables; for a BeIR dataset also its raw file (the held-out split)."""
    out = {
        "queries": f"{PREP_DIR}/queries.parquet".format(dataset=wildcards.dataset),
        "passages": f"{PREP_DIR}/passages.parquet".format(dataset=wildcards.dataset),
        "qrels": f"{PREP_DIR}/qrels.parquet".format(dataset=wildcards.dataset),
    }
    if DATASETS[wildcards.dataset]["format"] == "beir":
        out["raw"] = raw_input(wildcards)
    return out


def score_inputs(wildcards):
    """The held-out queries and the corpus; and the variant's model, except for base."""
    out = {
        "heldout": f"{HOLDOUT_DIR}/heldout.parquet".format(dataset=wildcards.dataset),
        "passages": f"{PREP_DIR}/passages.parquet".format(dataset=wildcards.dataset),
    }
    if wildcards.variant != "base":
        out["model"] = f"{EVAL_DIR}/{wildcards.variant}/model".format(
            dataset=wildcards.dataset
        )
    return out


def variant_files(name, trained_only=False):
    """File ``name`` of each of a dataset's variants (or of the trained ones only)."""

    def _files(wildcards):
        ds = wildcards.dataset
        names = trained_variants(ds) if trained_only else list(EVAL_VARIANTS[ds])
        return [f"{EVAL_DIR}/{v}/{name}".format(dataset=ds) for v in names]

    return _files


def evaluation_file(dataset):
    return f"{EVAL_OUT}/{dataset}.json"
