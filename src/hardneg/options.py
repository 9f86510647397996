"""Every option of the workflow, with its default, unit and one-line doc, in one place.

One frozen dataclass per config block (``model``, ``embed``, ``search``, ``cross_encoder``,
``prepare``, ``evaluate``, ``mining`` and a dataset's entry): the only defaults in the
code. ``workflow/schemas/config.schema.yaml`` and ``config/README.md`` are tested equal to
them. :mod:`hardneg.plan` builds them from the config and hands each stage its job
(:mod:`hardneg.stages`). Imported while the DAG is built, so it imports nothing heavy.
"""

from __future__ import annotations

import difflib
from dataclasses import MISSING, dataclass, field, fields


class ConfigError(ValueError):
    """A setting that cannot work; the message names the key and what to change."""


def option(default, doc: str, *, cache: bool = False, reruns: bool | tuple = True):
    """A documented option.

    ``cache``: the value changes the vectors, so it is part of the embedding cache key (a
    new value re-embeds). ``reruns``: which jobs re-run when the value changes, among those
    whose job holds it (:func:`hardneg.jobs.settings`): ``True`` all, ``False`` none (threads,
    cluster requests, paths), or a tuple of stage names."""
    return field(default=default, metadata={"doc": doc, "cache": cache, "reruns": reruns})


def required(doc: str):
    return field(metadata={"doc": doc, "cache": False, "reruns": True})


def defaults(cls) -> dict:
    """{option: default} of the options that have one."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


def did_you_mean(key, known) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to ``key``, or ``""``."""
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key(where: str, key, known) -> ConfigError:
    """The error of a key that ``where`` does not have: its path, the closest known key."""
    path = f"{where}.{key}" if where else str(key)
    return ConfigError(f"{path}: unknown key{did_you_mean(key, known)}; known: {', '.join(sorted(map(str, known)))}")


def from_config(cls, values: dict | None, where: str):
    """``cls`` from a config block; an unknown key is an error naming ``where.key``."""
    values = dict(values or {})
    known = [f.name for f in fields(cls)]
    for key in values:
        if key not in known:
            raise unknown_key(where, key, known)
    return cls(**values)


# ------------------------------------------------------------------ config blocks


@dataclass(frozen=True, kw_only=True)
class ModelOptions:
    """``model:`` the bi-encoder that embeds queries and passages."""

    name_or_path: str = option(
        "BAAI/bge-base-en-v1.5",
        "hub id, local folder, or `pkg:MODULE` (a package exposing `get_model_path()`)",
        cache=True,
    )
    batch_size: int = option(
        128,
        "texts per forward pass on the CPU (sentence-transformers' batches); on a GPU, batches of up to "
        "`batch_size x max_seq_length` padded tokens, so short texts go in larger batches",
    )
    max_seq_length: int | None = option(
        None, "tokens; longer texts are truncated by the tokenizer (and counted); none: the model's own", cache=True
    )
    query_prompt: str = option("", "prefix of every query, e.g. bge's retrieval instruction", cache=True)
    passage_prompt: str = option("", "prefix of every passage", cache=True)
    trust_remote_code: bool = option(False, "passed to SentenceTransformer; off unless you turn it on")
    revision: str = option("", "hub commit of the model to load (empty: the hub's default)", cache=True)
    backend: str = option(
        "torch",
        "`torch` or `openvino` (CPU jobs run the model exported once to an OpenVINO graph, fp32; GPU jobs: torch)",
        cache=True,
        # a new backend is a new embedding cache folder, whose jobs run for that alone; the card names it
        reruns=("card",),
    )

    @property
    def share_twins(self) -> bool:
        """With equal prompts, a query whose text is also a passage takes that passage's
        vector instead of being encoded (prepare's query_twins.npy)."""
        return (self.query_prompt or "") == (self.passage_prompt or "")


@dataclass(frozen=True, kw_only=True)
class EmbedOptions:
    """``embed:`` how the embed jobs run."""

    block_rows: int = option(
        8192, "rows per encode call; shards are whole blocks, so vectors do not depend on the shard count", cache=True
    )
    threads: int = option(4, "CPU threads of an embed job without a GPU", reruns=False)
    gpus: int = option(1, "GPUs an embed (and rescore) job asks a cluster for", reruns=False)
    precision: str = option(
        "auto",
        "`auto` (fp16 on a GPU, fp32 on the CPU), `fp16` (GPU only: a job without one fails) or `fp32`",
        cache=True,
    )


@dataclass(frozen=True, kw_only=True)
class SearchOptions:
    """``search:`` the first-stage search that fills the candidate cache."""

    topk: int = option(100, "candidates retrieved and cached per query")
    overfetch: int = option(16, "extra first-stage candidates per shard, rescored exactly in float64")
    query_chunk: int = option(4096, "queries per search call (and per candidate row group)")
    threads: int = option(4, "CPU threads of a search job (faiss and the exact rescoring)", reruns=False)
    device: str = option(
        "auto",
        "`auto` (a torch matmul + topk on the job's GPU, else faiss on the CPU), `cpu`, `cuda`, `cuda:N`, `torch-cpu`",
    )
    index: str = option("flat", "`flat` (exact) or `ivf` (faiss IndexIVFFlat per shard, candidates rescored exactly)")
    nlist: int | str = option("auto", "IVF lists per shard; `auto` = sqrt(passages in the shard)")
    nprobe: int | str = option("auto", "IVF lists searched per query; `auto` = 3/8 of the lists")
    gpus: int = option(1, "GPUs a search job asks a cluster for", reruns=False)

    @property
    def cache_key(self) -> str:
        """The search cache folder: an approximate first stage finds other candidates."""
        return f"top{self.topk}" + (f"-ivf{self.nlist}x{self.nprobe}" if self.index == "ivf" else "")


@dataclass(frozen=True, kw_only=True)
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
        reruns=("mine", "eval_mine"),
    )
    false_negative_margin: float = option(
        0.0,
        "judged relevant: cross-encoder score >= the query's lowest positive score minus this",
        reruns=("mine", "eval_mine"),
    )

    @property
    def rescore_settings(self) -> dict:
        """What the rescore job depends on (the judge's policy is the mine job's)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["reruns"] is True}


@dataclass(frozen=True, kw_only=True)
class PrepareOptions:
    """``prepare:`` the defaults of every dataset's prepare job."""

    max_bad_rows: int = option(0, "bad rows skipped and counted before the job fails")


@dataclass(frozen=True, kw_only=True)
class DatasetOptions:
    """``datasets.NAME:`` one dataset."""

    format: str = required("`pairs`, `medmcqa`, `beir` or `table` (files with named columns)")
    source: str = required(
        "`hf://datasets/OWNER/NAME@REV/PATH`, an `https://` URL, a local path or `file://` URL; "
        "`table`: also a folder, a glob, or a hub repo `hf://datasets/OWNER/NAME@REV` with `split:`"
    )
    md5: str | None = option(None, "checksum of an http download")
    sha256: str | None = option(None, "checksum of an http download")
    max_rows: int | None = option(None, "read at most this many lines or rows")
    max_bad_rows: int | None = option(None, "per-dataset `prepare.max_bad_rows`")
    shards: int = option(1, "passage and query shards, i.e. embed and search jobs")
    qrels_split: str = option("train", "BeIR qrels file to mine (`qrels/{split}.tsv`)")
    split: str | None = option(
        None, "`table` from a hub repo: the split to mine (every data file of it, as `datasets` finds them)"
    )
    subset: str | None = option(None, "`table` from a hub repo: the subset (a `configs:` name in its README)")
    query_column: str | None = option(None, "`table`: the query column (none: the first column)")
    positive_column: str | None = option(
        None, "`table`: the positive column, a string or a list of strings per row (none: the second column)"
    )
    title_column: str | None = option(None, "`table`: the positives' title column (none: no titles)")
    negative_columns: tuple = option(
        (),
        "`table`: columns of negatives the data has (a string or a list each): written first, counted in "
        "`num_negatives`, never mined again",
    )
    mining: dict | None = option(None, "per-dataset mining overrides (a `preset:` here starts over from it)")


@dataclass(frozen=True, kw_only=True)
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
    output_format: str = option(
        "tevatron",
        "`tevatron` or `flagembedding` (JSON lines); `triplet`, `n-tuple` (also called `sentence-transformers`), "
        "`labeled-pair` or `labeled-list` (parquet, as `mine_hard_negatives` writes them)",
    )
    output_scores: bool = option(False, "add `score` (and `rank` for negatives) to each passage")


@dataclass(frozen=True, kw_only=True)
class EvaluateOptions:
    """``evaluate:`` fine-tune the model on each variant's mined rows and score held-out
    queries against the whole corpus (``evaluation/NAME.json``)."""

    datasets: tuple = option(
        (), "datasets a plain `snakemake` run evaluates (any dataset's file can be targeted)", reruns=False
    )
    output_dir: str = option("evaluation", "folder for `NAME.json`, its plot and page, and `summary.md`", reruns=False)
    split: str = option(
        "test", "BeIR qrels split held out (`qrels/{split}.tsv`); never the mined split", reruns=("holdout",)
    )
    holdout_fraction: float = option(
        0.05, "pair datasets: share of distinct query texts held out (by text hash)", reruns=("holdout",)
    )
    max_holdout: int = option(1000, "at most this many held-out queries (the lowest text hashes)", reruns=("holdout",))
    variants: dict | None = option(
        None,
        "`{name: mining overrides}` trained beside `base`, `in_batch` and `shipped` (a `preset:` starts over)",
        reruns=("evaluation",),
    )
    sweep: dict | None = option(
        None,
        "`{option: [values]}` over mining options and `negatives_per_row`: a grid of variants beside the named "
        "ones, each the dataset's own setting with one value per option, named after its values "
        "(`sweep.range_max-10.sampling_strategy-top`)",
        reruns=("evaluation",),
    )
    max_variants: int = option(
        24, "most variants per evaluated dataset (built-in, named and swept); more fails at planning", reruns=False
    )
    negatives_per_row: int = option(1, "mined negatives per training row, besides the in-batch ones", reruns=("train",))
    max_steps: int = option(
        1000, "optimizer steps per variant (the rows are cycled if there are fewer)", reruns=("train",)
    )
    batch_size: int = option(32, "training rows per step", reruns=("train",))
    learning_rate: float = option(2e-5, "peak learning rate (linear warm-up and decay)", reruns=("train",))
    warmup_ratio: float = option(0.1, "share of the steps spent warming up", reruns=("train",))
    max_seq_length: int = option(
        256, "tokens per text in training and scoring, for every variant", reruns=("train", "score")
    )
    seed: int = option(
        42, "training seed (row order and dropout; the bootstrap's seed too)", reruns=("train", "evaluation")
    )
    bootstrap: int = option(
        1000, "paired bootstrap resamples of the held-out queries (95% intervals)", reruns=("evaluation",)
    )


# the variants every evaluation has: the model as it is, in-batch negatives only, and the
# dataset's own mining setting (the one its file in output_dir was mined with)
BUILTIN_VARIANTS = ("base", "in_batch", "shipped")


@dataclass(frozen=True, kw_only=True)
class WorkflowOptions:
    """The top-level folders."""

    results: str = option(
        "results", "folder for intermediate files (prepared tables, embeddings, candidates)", reruns=False
    )
    output_dir: str = option("retrieval/original", "folder for the mined files, one per dataset", reruns=False)


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

# the report's plots of one dataset (file names; drawn by hardneg.plots)
PLOTS = ("scores", "negatives_per_query", "negative_ranks", "removed", "prepare", "truncation")


def check_mining(opts: dict, topk: int, where: str) -> MiningOptions:
    """The dataset's MiningOptions; impossible combinations fail before any job runs."""
    o = from_config(MiningOptions, opts, where)
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
