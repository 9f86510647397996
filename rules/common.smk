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
    ModelOptions,
    SearchOptions,
    check_mining,
    cross_encoder_cache_key,
    embed_cache_key,
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
RESCORE_DIR = f"{SEARCH_DIR}/{CE_KEY}"


wildcard_constraints:
    dataset="|".join(re.escape(d) for d in DATASETS),
    n=r"\d+",
    shard=r"\d+",
    filename=r"[^/]+",
    kind="hf|http",
    ext="jsonl|parquet",


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


def mined_output(dataset):
    return f"{OUTPUT_DIR}/{dataset}.{output_ext(dataset)}"


def plot_files(dataset):
    return [
        f"{OUTPUT_DIR}/plots/{dataset}.{output_ext(dataset)}/{name}.svg"
        for name in PLOTS
    ]


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
