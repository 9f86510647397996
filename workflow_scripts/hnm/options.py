"""Every option of the workflow, with its default and its one-line doc, in one place.

One frozen dataclass per config block (``model``, ``embed``, ``search``, ``cross_encoder``,
``prepare``, ``mining`` and a dataset's entry): these are the only defaults in the code.
``schemas/config.schema.yaml`` and the README's option table must agree with them
(``tests/test_options.py`` checks both). Each stage's ``run(inputs, outputs, options,
logger)`` takes a job dataclass built from these blocks by its script.

Imported by ``rules/common.smk`` while the DAG is built, so it imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields, replace


class ConfigError(ValueError):
    """A setting that cannot work; the message names the key and what to change."""


def option(default, doc: str, *, cache: bool = False):
    """A documented option. ``cache``: the value changes the vectors, so it is part of the
    embedding cache key (a new value re-embeds)."""
    return field(default=default, metadata={"doc": doc, "cache": cache})


def required(doc: str):
    return field(metadata={"doc": doc, "cache": False})


def defaults(cls) -> dict:
    """{option: default} of the options that have one."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


def from_config(cls, values: dict | None, where: str):
    """``cls`` from a config block; an unknown key is an error naming ``where.key``."""
    values = dict(values or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return cls(**values)


# ------------------------------------------------------------------ config blocks


@dataclass(frozen=True)
class ModelOptions:
    """``model:`` the bi-encoder that embeds queries and passages."""

    name_or_path: str = option(
        "BAAI/bge-base-en-v1.5",
        "hub id, local folder, or `pkg:MODULE` (a package exposing `get_model_path()`)",
        cache=True,
    )
    batch_size: int = option(128, "texts per forward pass")
    max_seq_length: int = option(512, "tokens; longer texts are truncated by the tokenizer (and counted)", cache=True)
    query_prompt: str = option("", "prefix of every query, e.g. bge's retrieval instruction", cache=True)
    passage_prompt: str = option("", "prefix of every passage", cache=True)
    trust_remote_code: bool = option(False, "passed to SentenceTransformer; off unless you turn it on")
    revision: str = option("", "hub commit of the model to load (empty: the hub's default)", cache=True)

    @property
    def share_twins(self) -> bool:
        """With equal prompts, a query whose text is also a passage takes that passage's
        vector instead of being encoded (prepare's query_twins.npy)."""
        return (self.query_prompt or "") == (self.passage_prompt or "")


@dataclass(frozen=True)
class EmbedOptions:
    """``embed:`` how the embed jobs run."""

    block_rows: int = option(
        8192, "rows per encode call; shards are whole blocks, so vectors do not depend on the shard count", cache=True
    )
    threads: int = option(4, "CPU threads of an embed job without a GPU")
    gpus: int = option(1, "GPUs an embed (and rescore) job asks a cluster for")
    precision: str = option(
        "auto",
        "`auto` (fp16 on a GPU, fp32 on the CPU), `fp16` (GPU only: a job without one fails) or `fp32`",
        cache=True,
    )


@dataclass(frozen=True)
class SearchOptions:
    """``search:`` the first-stage search that fills the candidate cache."""

    topk: int = option(100, "candidates retrieved and cached per query")
    overfetch: int = option(16, "extra first-stage candidates per shard, rescored exactly in float64")
    query_chunk: int = option(4096, "queries per search call (and per candidate row group)")
    threads: int = option(4, "CPU threads of a search job (faiss and the exact rescoring)")
    device: str = option(
        "auto",
        "`auto` (a torch matmul + topk on the job's GPU, else faiss on the CPU), `cpu`, `cuda`, `cuda:N`, `torch-cpu`",
    )
    index: str = option("flat", "`flat` (exact) or `ivf` (faiss IndexIVFFlat per shard, candidates rescored exactly)")
    nlist: int | str = option("auto", "IVF lists per shard; `auto` = sqrt(passages in the shard)")
    nprobe: int | str = option("auto", "IVF lists searched per query; `auto` = 3/8 of the lists")
    gpus: int = option(1, "GPUs a search job asks a cluster for")

    @property
    def cache_key(self) -> str:
        """The search cache folder: an approximate first stage finds other candidates."""
        return f"top{self.topk}" + (f"-ivf{self.nlist}x{self.nprobe}" if self.index == "ivf" else "")


@dataclass(frozen=True)
class CrossEncoderOptions:
    """``cross_encoder:`` optional rescoring of the cached candidates and positives."""

    name_or_path: str = option("", "a sentence-transformers CrossEncoder; empty = off")
    batch_size: int = option(32, "pairs per forward pass")
    max_length: int = option(512, "tokens of query + passage")
    trust_remote_code: bool = option(False, "passed to CrossEncoder")
    false_negatives: str = option(
        "keep",
        "negatives the cross-encoder judges relevant: `keep`, `drop`, or `relabel` (added to the row's positives; "
        "not the sentence-transformers format)",
    )
    false_negative_margin: float = option(
        0.0, "judged relevant: cross-encoder score >= the query's lowest positive score minus this"
    )

    @property
    def rescore_settings(self) -> dict:
        """What the rescore job depends on (the judge's policy is the mine job's)."""
        return {k: getattr(self, k) for k in ("name_or_path", "batch_size", "max_length", "trust_remote_code")}


@dataclass(frozen=True)
class PrepareOptions:
    """``prepare:`` the defaults of every dataset's prepare job."""

    max_bad_rows: int = option(0, "bad rows skipped and counted before the job fails")


@dataclass(frozen=True)
class DatasetOptions:
    """``datasets.NAME:`` one dataset."""

    format: str = required("`pairs`, `medmcqa` or `beir`")
    source: str = required("`hf://datasets/OWNER/NAME@REV/PATH`, an `https://` URL, a local path or `file://` URL")
    md5: str | None = option(None, "checksum of an http download")
    sha256: str | None = option(None, "checksum of an http download")
    max_rows: int | None = option(None, "read at most this many lines or rows")
    max_bad_rows: int | None = option(None, "per-dataset `prepare.max_bad_rows`")
    shards: int = option(1, "passage and query shards, i.e. embed and search jobs")
    qrels_split: str = option("train", "BeIR qrels file to mine (`qrels/{split}.tsv`)")
    mining: dict | None = option(None, "per-dataset mining overrides (a `preset:` here starts over from it)")


@dataclass(frozen=True)
class MiningOptions:
    """``mining:`` how negatives are chosen from the cached candidates.

    The defaults are the ``seed`` preset: tDRO's ``build_train_hn_dp.py``."""

    range_min: int = option(2, "first 0-based rank of the candidate window")
    range_max: int = option(100, "end of the window (exclusive); at most `search.topk`")
    num_negatives: int = option(16, "at most this many negatives per query (no padding)")
    min_negatives: int = option(1, "a query with fewer negatives is dropped (and counted)")
    sampling_strategy: str = option("random", "`random` (seeded per query from `(seed, query_id)`) or `top`")
    seed: int = option(42, "sampling seed")
    rank_window: str = option(
        "raw",
        "`raw`: ranks counted before positives are removed (seed); `filtered`: positives and filtered "
        "candidates removed first, then the window (sentence-transformers)",
    )
    exclude_query_text: bool = option(False, "drop candidates whose text equals the query")
    exclude_normalized_text: bool = option(
        False, "drop candidates equal to a positive after NFKC, casefold and collapsed whitespace"
    )
    max_positive_similarity: float | None = option(
        None, "drop candidates whose cosine to one of the query's positives (cached vectors) is at least this"
    )
    group_identical_queries: bool = option(False, "pool the positives of rows with the same query text")
    absolute_margin: float | None = option(None, "keep a negative only if `score <= pos - absolute_margin`")
    relative_margin: float | None = option(None, "keep a negative only if `score <= pos - abs(pos) * relative_margin`")
    max_score: float | None = option(None, "drop negatives scoring above this")
    min_score: float | None = option(None, "drop negatives scoring below this")
    output_format: str = option("tevatron", "`tevatron`, `flagembedding` or `sentence-transformers` (parquet)")
    output_scores: bool = option(False, "add `score` (and `rank` for negatives) to each passage")

    @classmethod
    def from_dict(cls, values: dict, where: str = "mining") -> MiningOptions:
        return from_config(cls, values, where)


@dataclass(frozen=True)
class EvaluateOptions:
    """``evaluate:`` fine-tune the model on each variant's mined rows and score held-out
    queries against the whole corpus (``evaluation/NAME.json``)."""

    datasets: tuple = option((), "datasets a plain `snakemake` run evaluates (any dataset's file can be targeted)")
    output_dir: str = option("evaluation", "folder for `NAME.json`, its plot and page, and `summary.md`")
    split: str = option("test", "BeIR qrels split held out (`qrels/{split}.tsv`); never the mined split")
    holdout_fraction: float = option(0.05, "pair datasets: share of distinct query texts held out (by text hash)")
    max_holdout: int = option(1000, "at most this many held-out queries (the lowest text hashes)")
    variants: dict | None = option(
        None, "`{name: mining overrides}` trained beside `base`, `in_batch` and `shipped` (a `preset:` starts over)"
    )
    negatives_per_row: int = option(1, "mined negatives per training row, besides the in-batch ones")
    max_steps: int = option(1000, "optimizer steps per variant (the rows are cycled if there are fewer)")
    batch_size: int = option(32, "training rows per step")
    learning_rate: float = option(2e-5, "peak learning rate (linear warm-up and decay)")
    warmup_ratio: float = option(0.1, "share of the steps spent warming up")
    max_seq_length: int = option(256, "tokens per text in training and scoring, for every variant")
    seed: int = option(42, "training seed (row order and dropout)")
    bootstrap: int = option(1000, "paired bootstrap resamples of the held-out queries (95% intervals)")


# the variants every evaluation has: the model as it is, in-batch negatives only, and the
# dataset's own mining setting (the one its file in output_dir was mined with)
BUILTIN_VARIANTS = ("base", "in_batch", "shipped")


@dataclass(frozen=True)
class WorkflowOptions:
    """The top-level folders."""

    results: str = option("results", "folder for intermediate files (prepared tables, embeddings, candidates)")
    output_dir: str = option("retrieval/original", "folder for the mined files, one per dataset")


# config block -> its dataclass (the schema and README tests walk this)
BLOCKS = {
    "model": ModelOptions,
    "embed": EmbedOptions,
    "search": SearchOptions,
    "cross_encoder": CrossEncoderOptions,
    "prepare": PrepareOptions,
    "evaluate": EvaluateOptions,
}

# ------------------------------------------------------------------ mining presets

SEED = defaults(MiningOptions)

PRESETS = {
    "seed": SEED,
    # NV-Retriever's TopK-PercPos (candidates above 95% of the positive dropped, then the
    # top survivors), less near-copies of a positive (cosine 0.9: BENCHMARKS.md)
    "percpos95": {
        **SEED,
        "range_min": 0,
        "rank_window": "filtered",
        "relative_margin": 0.05,
        "exclude_query_text": True,
        "exclude_normalized_text": True,
        "max_positive_similarity": 0.9,
        "group_identical_queries": True,
        "sampling_strategy": "top",
    },
}

OUTPUT_EXT = {"tevatron": "jsonl", "flagembedding": "jsonl", "sentence-transformers": "parquet"}

# the report's plots of one dataset (file names; drawn by hnm.plots)
PLOTS = ("scores", "negatives_per_query", "negative_ranks", "removed", "prepare", "truncation")


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


def check_mining(opts: dict, topk: int, where: str) -> MiningOptions:
    """The dataset's MiningOptions; impossible combinations fail before any job runs."""
    o = MiningOptions.from_dict(opts, where)
    if o.range_min >= o.range_max:
        raise ConfigError(f"{where}.range_min ({o.range_min}) must be smaller than range_max ({o.range_max})")
    if o.num_negatives > o.range_max - o.range_min:
        raise ConfigError(
            f"{where}.num_negatives ({o.num_negatives}) is larger than the window range_max - range_min = "
            f"{o.range_max - o.range_min}; lower num_negatives or widen range_min/range_max"
        )
    if o.range_max > topk:
        raise ConfigError(
            f"{where}.range_max ({o.range_max}) exceeds search.topk ({topk}), the number of cached candidates; "
            f"raise search.topk (re-runs search only) or lower range_max"
        )
    if o.min_negatives > o.num_negatives:
        raise ConfigError(f"{where}.min_negatives ({o.min_negatives}) exceeds num_negatives ({o.num_negatives})")
    for key in ("absolute_margin", "relative_margin"):
        if getattr(o, key) is not None and getattr(o, key) < 0:
            raise ConfigError(f"{where}.{key} must be >= 0, got {getattr(o, key)}")
    if o.max_score is not None and o.min_score is not None and o.min_score > o.max_score:
        raise ConfigError(f"{where}.min_score ({o.min_score}) exceeds max_score ({o.max_score})")
    return o


def _training_rows(opts: MiningOptions) -> MiningOptions:
    """The options that mine a variant's training rows: tevatron rows (the trainer reads
    them), and the sentence-transformers format's rule of full rows kept."""
    full = opts.num_negatives if opts.output_format == "sentence-transformers" else opts.min_negatives
    return replace(opts, output_format="tevatron", output_scores=False, min_negatives=full)


def evaluation_variants(evaluate: EvaluateOptions, shipped: MiningOptions, topk: int) -> dict:
    """{variant: the MiningOptions its training rows are mined with}; ``base`` (no
    training) maps to None. A named variant's overrides apply to the dataset's own setting,
    or start over from their ``preset:``."""
    out = {
        "base": None,
        "in_batch": replace(_training_rows(shipped), num_negatives=0, min_negatives=0),
        "shipped": _training_rows(shipped),
    }
    for name, overrides in (evaluate.variants or {}).items():
        where = f"evaluate.variants.{name}"
        if name in BUILTIN_VARIANTS or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", str(name)):
            raise ConfigError(
                f"{where}: a variant name must be plain (letters, digits, _.-) and not one of "
                + ", ".join(BUILTIN_VARIANTS)
            )
        o = dict(overrides or {})
        preset = o.pop("preset", None)
        if preset is not None and preset not in PRESETS:
            raise ConfigError(f"{where}.preset: unknown preset {preset!r} (known: {', '.join(PRESETS)})")
        base = dict(PRESETS[preset]) if preset is not None else asdict(shipped)
        out[name] = _training_rows(check_mining({**base, **o}, topk, where))
    return out


# ------------------------------------------------------------------ cache keys


def cache_key(name_or_path: str, settings: dict) -> str:
    """A readable, stable folder name: the model's last path part and a hash of ``settings``."""
    slug = re.sub(r"^.*[/:]|[^A-Za-z0-9_.-]+", "", name_or_path)
    return slug + "-" + hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def embed_settings(model: ModelOptions, embed: EmbedOptions) -> dict:
    """Everything that changes the vectors, and nothing else: the options marked ``cache``,
    whether queries that are also passages share their vector, and the backend."""
    out = {f.name: getattr(o, f.name) for o in (model, embed) for f in fields(o) if f.metadata["cache"]}
    out["share_twins"] = model.share_twins
    out["backend"] = "torch"
    return out


def embed_cache_key(model: ModelOptions, embed: EmbedOptions) -> str:
    return cache_key(model.name_or_path, embed_settings(model, embed))


def cross_encoder_cache_key(ce: CrossEncoderOptions) -> str:
    return "ce-" + cache_key(ce.name_or_path, ce.rescore_settings)


# ------------------------------------------------------------------ docs

README_BLOCKS = {"": WorkflowOptions, **BLOCKS, "mining": MiningOptions, "datasets.NAME": DatasetOptions}


def _cell(value) -> str:
    if value is MISSING:
        return "required"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`{list(value)}`"
    if isinstance(value, str):
        return f'`"{value}"`' if value == "" else f"`{value}`"
    return f"`{value}`"


def markdown_tables() -> str:
    """The README's option table, generated from the dataclasses above (the README must
    hold exactly this text between its ``options`` markers; ``python -m hnm.options``).
    Mining defaults are the ``seed`` preset's."""
    out = ["| option | default | meaning |", "|---|---|---|"]
    for block, cls in README_BLOCKS.items():
        for f in fields(cls):
            key = f"{block}.{f.name}" if block else f.name
            out.append(f"| `{key}` | {_cell(f.default)} | {f.metadata['doc']} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown_tables(), end="")
