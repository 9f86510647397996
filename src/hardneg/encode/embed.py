"""Embed stage: one job per shard, writing a cached float32 ``.npy`` per side.

Determinism: CPU embeddings of a text change in the last bits with the *batch* it is
encoded in (padding length, kernel shapes), though not with the thread count. So rows
are grouped into fixed blocks of ``block_rows`` and each block is encoded by one
``encode`` call; a shard is a run of whole blocks. A row's vector therefore depends on
its block only, never on the number of shards.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

from ..data.texts import passage_text
from ..devices import pick_device
from ..integrity import fingerprints
from ..io import InputError, Progress, describe_error, write_json
from ..models import resolve_model_path
from ..options import ModelOptions
from .encoding import Pipeline, count_truncated, distinct
from .partial import PartialArray, block_digest

if TYPE_CHECKING:
    from ..stages.embed import EmbedJob


def shard_bounds(n_rows: int, shard: int, n_shards: int, block_rows: int) -> tuple[int, int]:
    """Row range [start, stop) of ``shard`` when ``n_rows`` rows are cut into whole
    blocks of ``block_rows`` spread evenly over ``n_shards`` shards."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range for {n_shards} shards")
    n_blocks = math.ceil(n_rows / block_rows)
    b0 = shard * n_blocks // n_shards
    b1 = (shard + 1) * n_blocks // n_shards
    return min(b0 * block_rows, n_rows), min(b1 * block_rows, n_rows)


def read_row_range(path, start: int, stop: int, columns: list[str]):
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
        return start, read_row_range(path, start, stop, ["text"]).column("text").to_pylist()
    t = read_row_range(path, start, stop, ["title", "text"])
    return start, [
        passage_text(a, b) for a, b in zip(t.column("title").to_pylist(), t.column("text").to_pylist(), strict=True)
    ]


def resolve_precision(precision: str, device: str) -> str:
    """The dtype vectors are computed in. ``auto``: fp16 on a GPU, fp32 on the CPU.
    An explicit ``fp16`` never falls back to the CPU: such a shard would not match its
    siblings, so the job fails instead."""
    if precision == "auto":
        return "fp16" if device.startswith("cuda") else "fp32"
    if precision == "fp16" and not device.startswith("cuda"):
        raise RuntimeError(
            f"embed.precision is fp16 but this job runs on {device} (no GPU): it would write fp32 vectors into an "
            "fp16 cache; give the job a GPU, or set embed.precision: fp32 (or auto)"
        )
    return precision


def load_model(model_opts: ModelOptions, precision: str = "auto", device: str | None = None):
    """Load a SentenceTransformer: fp16 on a GPU, fp32 on the CPU (``precision`` auto)."""
    from sentence_transformers import SentenceTransformer

    device = device or pick_device()
    dtype = resolve_precision(precision, device)
    try:
        model = SentenceTransformer(
            resolve_model_path(model_opts.name_or_path),
            device=device,
            trust_remote_code=model_opts.trust_remote_code,
            revision=model_opts.revision or None,
        )
    except (OSError, ValueError, ImportError) as exc:
        raise InputError(
            f"model.name_or_path ({model_opts.name_or_path}) cannot be loaded: {describe_error(exc)}; "
            "give a hub id, a local model folder or pkg:MODULE"
        ) from exc
    if dtype == "fp16":
        model.half()
    try:
        if model_opts.max_seq_length is not None:  # none: the model's own
            model.max_seq_length = model_opts.max_seq_length
    except AttributeError:
        # e.g. StaticEmbedding (model2vec / static-retrieval models): no sequence limit
        # to set, since such a model never truncates
        pass
    return model


def load_encoder(model_opts: ModelOptions, precision: str, exported=None, threads: int = 1, logger=None):
    """The model that encodes: on a GPU, or with ``model.backend: torch``, the
    SentenceTransformer of :func:`load_model`; otherwise the graph exported into the folder
    ``exported`` (:mod:`hardneg.encode.openvino_backend`), fp32 on the CPU."""
    device = pick_device()
    if model_opts.backend == "torch" or device.startswith("cuda"):
        if model_opts.backend != "torch" and logger:
            logger.info("model.backend %s is for CPU jobs; on %s, torch encodes", model_opts.backend, device)
        return load_model(model_opts, precision, device)
    resolve_precision(precision, device)  # fp16 on the CPU fails here, as on torch
    from .openvino_backend import OpenVINOEncoder

    st = load_model(model_opts, "fp32", "cpu")
    encoder = OpenVINOEncoder(st, exported, threads=threads)
    st.to("meta")  # its preprocessing is used, not its weights: free them
    return encoder


def claim_vector_kind(folder: Path, model) -> str:
    """Record how this folder's vectors are made (``fp16-cuda``, ``fp32-cpu`` or
    ``fp32-openvino``) in a marker file, created atomically by the first shard; a shard
    made otherwise fails, so GPU and CPU-fallback shards never sit in one cache folder."""
    kind = getattr(model, "vector_kind", None)
    if kind is None:
        first = next(model.parameters(), None)
        dtype = {"torch.float16": "fp16", "torch.float32": "fp32"}.get(str(getattr(first, "dtype", "torch.float32")))
        kind = f"{dtype or first.dtype}-{model.device.type}"
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / ".vectors"
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with os.fdopen(fd, "w") as fh:
            fh.write(kind + "\n")
        return kind
    except FileExistsError:
        have = marker.read_text().strip()
    if have != kind:
        raise RuntimeError(
            f"{folder}: its other shards hold {have} vectors, but this job makes {kind} "
            f"(a GPU job fell back to the CPU, or the reverse). Mixed shards would not be comparable: pin "
            f"embed.precision (fp16 needs a GPU), or delete {folder} to re-embed every shard"
        )
    return kind


def embedding_dim(model) -> int:
    """Embedding width (sentence-transformers renamed the method in 6.x; accept both)."""
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


def _blocks(n: int, block_rows: int, texts: list[str], skip) -> Iterator[tuple[int, np.ndarray, list[str]]]:
    """(block index, rows to encode, their texts) per block of ``block_rows`` rows; rows
    where ``skip`` is true are left out."""
    for k, b0 in enumerate(range(0, n, block_rows)):
        rows = np.arange(b0, min(b0 + block_rows, n))
        if skip is not None:
            rows = rows[~skip[rows]]
        yield k, rows, [texts[i] for i in rows]


def encode_blocks(
    model,
    texts: list[str],
    out_path,
    *,
    block_rows: int,
    batch_size: int,
    prompt: str | None,
    logger=None,
    label: str = "",
    skip=None,
    finish: list | None = None,
) -> int:
    """Encode ``texts`` block by block into a float32 ``.npy`` at ``out_path``, renamed into
    place when whole; the blocks an interrupted run finished are kept (:mod:`hardneg.encode.partial`).

    Identical texts in a block are encoded once (a title such as "Five Stars" heads one row
    in eight of amazon_review_2018); the block fixes the batches, so the vectors still do
    not depend on the shard count. A torch model runs in :class:`hardneg.encode.encoding.Pipeline`
    (tokenizing and writing overlap the forward passes); another encoder (OpenVINO) through
    its ``encode``. Rows where ``skip`` is true are not encoded and left as zeros (queries
    that take their twin passage's vector). With ``finish``, the whole array is appended
    to it for the caller to rename (:meth:`PartialArray.commit`) once a job's other files
    are done too. Returns how many texts were truncated to ``max_seq_length`` tokens."""
    dim = embedding_dim(model)
    n = len(texts)
    progress = Progress(logger, label, total=n, unit="texts")
    blocks = list(_blocks(n, block_rows, texts, skip))
    partial = PartialArray(out_path, (n, dim), [block_digest(rows, block) for _, rows, block in blocks])
    arr = partial.array
    if partial.kept:
        blocks = [b for b in blocks if b[0] not in partial.kept]
        if logger:
            kept, total = len(partial.kept), len(partial.digests)
            logger.info("%s: %d of %d blocks kept from an interrupted run", label, kept, total)
    elif skip is not None:
        arr[np.flatnonzero(skip[:n])] = 0.0
    truncated = sum(partial.kept.values())
    try:
        write = arr.__setitem__  # (rows, vectors), from the pipeline's writer thread

        def done(block):
            partial.finished(block.index, block.truncated)
            progress.update(min((block.index + 1) * block_rows, n))

        if hasattr(model, "vector_kind"):  # an exported graph: its own encode, block by block
            for k, rows, block in blocks:
                unique, inverse = distinct(block)
                if block:
                    emb = model.encode(unique, batch_size=batch_size, prompt=prompt or None)
                    arr[rows] = emb.astype(np.float32, copy=False)[inverse]
                n_trunc = count_truncated(model, block, prompt)
                truncated += n_trunc
                partial.finished(k, n_trunc)
                progress.update(min((k + 1) * block_rows, n))
        else:
            pipeline = Pipeline(model, batch_size=batch_size, prompt=prompt, device=str(model.device))
            truncated += pipeline.run(iter(blocks), write, on_block=done)
            if logger:
                logger.info("%s: tokenized by %s", label, "the Rust tokenizer" if pipeline.fast else "model.preprocess")
        del arr, write
        if finish is None:
            partial.commit()
        else:
            finish.append(partial)
    finally:
        partial.close()
    progress.finish()
    if logger:
        logger.info("%s: %d truncated to max_seq_length", label, truncated)
    return truncated


def run(inputs, outputs, job: EmbedJob, logger=None) -> dict:
    """Embed shard ``options.shard`` of both ``inputs.queries`` and ``inputs.passages``
    (prepare's tables) into ``outputs.queries`` / ``outputs.passages`` (.npy), with
    ``outputs.stats``. With ``share_twins``, queries whose text is also a passage
    (``inputs.twins``) are not encoded: search and scoring read their twin's vector."""
    import torch

    m, block_rows = job.model, job.embed.block_rows
    shard, n_shards = job.shard, job.n_shards
    torch.set_num_threads(max(1, job.threads))
    os.environ.setdefault("RAYON_NUM_THREADS", str(max(1, job.threads)))  # the Rust tokenizer's pool
    model = load_encoder(m, job.embed.precision, getattr(inputs, "exported", None), job.threads, logger)
    kind = claim_vector_kind(Path(outputs.queries).parent, model)
    if logger:
        logger.info("model %s on %s (dim %d, %s)", m.name_or_path, model.device, embedding_dim(model), kind)
    limit = model.max_seq_length
    stats = {
        "device": str(model.device),
        "vectors": kind,
        "max_seq_length": limit if limit and math.isfinite(limit) else None,
    }
    finished = []  # both sides are renamed into place at the end: a kill keeps their blocks
    for side, path, out, prompt in (
        ("queries", inputs.queries, outputs.queries, m.query_prompt),
        ("passages", inputs.passages, outputs.passages, m.passage_prompt),
    ):
        first, texts = shard_texts(path, side, shard, n_shards, block_rows)
        skip = None
        if side == "queries" and job.share_twins:
            skip = np.load(inputs.twins, mmap_mode="r")[first : first + len(texts)] >= 0
        label = f"{side} shard {shard + 1}/{n_shards} (rows {first}..{first + len(texts)})"
        n_trunc = encode_blocks(
            model,
            texts,
            out,
            block_rows=block_rows,
            batch_size=m.batch_size,
            prompt=prompt,
            logger=logger,
            label=label,
            skip=skip,
            finish=finished,
        )
        stats[side] = {"first_row": first, "rows": len(texts), "truncated": n_trunc}
        if skip is not None:
            stats[side]["shared_with_passages"] = int(skip.sum())
            if logger:
                logger.info("%s: %d rows take their twin passage's vector", label, stats[side]["shared_with_passages"])
    for partial in finished:
        partial.commit()
    sides = {outputs.queries: stats["queries"]["rows"], outputs.passages: stats["passages"]["rows"]}
    stats["cache"] = fingerprints("embed", job.dataset, sides)
    write_json(outputs.stats, stats)
    return stats
