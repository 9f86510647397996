"""The config blocks of the run: the folders, the model, embedding, search, the
cross-encoder, prepare, and a dataset's entry."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .fields import option, required


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
        schema={"minimum": 1},
    )
    max_seq_length: int | None = option(
        None,
        "tokens; longer texts are truncated by the tokenizer (and counted); none: the model's own",
        cache=True,
        schema={"minimum": 8},
        nullable=True,
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
        schema={"enum": ["torch", "openvino"]},
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
        8192,
        "rows per encode call; shards are whole blocks, so vectors do not depend on the shard count",
        cache=True,
        schema={"minimum": 1},
    )
    threads: int = option(4, "CPU threads of an embed job without a GPU", reruns=False, schema={"minimum": 1})
    gpus: int = option(1, "GPUs an embed (and rescore) job asks a cluster for", reruns=False, schema={"minimum": 0})
    precision: str = option(
        "auto",
        "`auto` (fp16 on a GPU, fp32 on the CPU), `fp16` (GPU only: a job without one fails) or `fp32`",
        cache=True,
        schema={"enum": ["auto", "fp16", "fp32"]},
    )


@dataclass(frozen=True, kw_only=True)
class SearchOptions:
    """``search:`` the first-stage search that fills the candidate cache."""

    topk: int = option(100, "candidates retrieved and cached per query", schema={"minimum": 1})
    overfetch: int = option(
        16, "extra first-stage candidates per shard, rescored exactly in float64", schema={"minimum": 0}
    )
    query_chunk: int = option(4096, "queries per search call (and per candidate row group)", schema={"minimum": 1})
    threads: int = option(
        4, "CPU threads of a search job (faiss and the exact rescoring)", reruns=False, schema={"minimum": 1}
    )
    device: str = option(
        "auto",
        "`auto` (a torch matmul + topk on the job's GPU, else faiss on the CPU), `cpu`, `cuda`, `cuda:N`, `torch-cpu`",
        schema={"pattern": "^(auto|cpu|torch-cpu|cuda(:[0-9]+)?)$"},
    )
    index: str = option(
        "flat",
        "`flat` (exact) or `ivf` (faiss IndexIVFFlat per shard, candidates rescored exactly)",
        schema={"enum": ["flat", "ivf"]},
    )
    nlist: int | str = option(
        "auto",
        "IVF lists per shard; `auto` = sqrt(passages in the shard)",
        schema={"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["auto"]}]},
    )
    nprobe: int | str = option(
        "auto",
        "IVF lists searched per query; `auto` = 3/8 of the lists",
        schema={"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["auto"]}]},
    )
    gpus: int = option(1, "GPUs a search job asks a cluster for", reruns=False, schema={"minimum": 0})

    @property
    def cache_key(self) -> str:
        """The search cache folder: an approximate first stage finds other candidates."""
        return f"top{self.topk}" + (f"-ivf{self.nlist}x{self.nprobe}" if self.index == "ivf" else "")


@dataclass(frozen=True, kw_only=True)
class CrossEncoderOptions:
    """``cross_encoder:`` optional rescoring of the cached candidates and positives."""

    name_or_path: str = option("", "a sentence-transformers CrossEncoder; empty = off")
    batch_size: int = option(32, "pairs per forward pass", schema={"minimum": 1})
    max_length: int = option(512, "tokens of query + passage", schema={"minimum": 8})
    trust_remote_code: bool = option(False, "passed to CrossEncoder")
    false_negatives: str = option(
        "keep",
        "negatives the cross-encoder judges relevant: `keep`, `drop`, or `relabel` (added to the row's positives; "
        "not the sentence-transformers format)",
        reruns=("mine", "eval_mine"),
        schema={"enum": ["keep", "drop", "relabel"]},
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

    max_bad_rows: int = option(0, "bad rows skipped and counted before the job fails", schema={"minimum": 0})


@dataclass(frozen=True, kw_only=True)
class DatasetOptions:
    """``datasets.NAME:`` one dataset."""

    format: str = required(
        "`pairs`, `medmcqa`, `beir` or `table` (files with named columns)",
        schema={"enum": ["pairs", "medmcqa", "beir", "table"]},
    )
    source: str = required(
        "`hf://datasets/OWNER/NAME@REV/PATH`, an `https://` URL, a local path or `file://` URL; "
        "`table`: also a folder, a glob, or a hub repo `hf://datasets/OWNER/NAME@REV` with `split:`",
        schema={"minLength": 1},
    )
    md5: str | None = option(None, "checksum of an http download", schema={"pattern": "^[0-9a-fA-F]{32}$"})
    sha256: str | None = option(None, "checksum of an http download", schema={"pattern": "^[0-9a-fA-F]{64}$"})
    max_rows: int | None = option(None, "read at most this many lines or rows", schema={"minimum": 1})
    max_bad_rows: int | None = option(None, "per-dataset `prepare.max_bad_rows`", schema={"minimum": 0})
    shards: int = option(1, "passage and query shards, i.e. embed and search jobs", schema={"minimum": 1})
    qrels_split: str = option("train", "BeIR qrels file to mine (`qrels/{split}.tsv`)")
    split: str | None = option(
        None,
        "`table` from a hub repo: the split to mine (every data file of it, as `datasets` finds them)",
        schema={"minLength": 1},
    )
    subset: str | None = option(
        None, "`table` from a hub repo: the subset (a `configs:` name in its README)", schema={"minLength": 1}
    )
    query_column: str | None = option(
        None, "`table`: the query column (none: the first column)", schema={"minLength": 1}
    )
    positive_column: str | None = option(
        None,
        "`table`: the positive column, a string or a list of strings per row (none: the second column)",
        schema={"minLength": 1},
    )
    title_column: str | None = option(
        None, "`table`: the positives' title column (none: no titles)", schema={"minLength": 1}
    )
    negative_columns: tuple = option(
        (),
        "`table`: columns of negatives the data has (a string or a list each): written first, counted in "
        "`num_negatives`, never mined again",
        schema={"items": {"type": "string", "minLength": 1}},
    )
    mining: dict | None = option(
        None, "per-dataset mining overrides (a `preset:` here starts over from it)", schema={"$ref": "#/$defs/mining"}
    )


@dataclass(frozen=True, kw_only=True)
class WorkflowOptions:
    """The top-level folders."""

    results: str = option(
        "results", "folder for intermediate files (prepared tables, embeddings, candidates)", reruns=False
    )
    output_dir: str = option("retrieval/original", "folder for the mined files, one per dataset", reruns=False)
