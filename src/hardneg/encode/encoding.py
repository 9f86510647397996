"""Encoding that keeps the accelerator busy: the host tokenizes, collates and writes while
the model runs.

- **Tokenizing.** :class:`FastFeatures` tokenizes a whole block at once: the ASCII texts of
  a BERT WordPiece tokenizer with Arrow kernels and WordPiece once per new word
  (:mod:`hardneg.encode.wordpiece`), the rest with the model's Rust tokenizer (``tokenizers``'
  ``encode_batch``: all the job's cores, the GIL released); it pads batches with NumPy.
  Its tensors equal ``model.preprocess``'s, checked on a probe batch before it is used
  (:func:`fast_features`); a model where they differ (a slow tokenizer, flattened
  flash-attention inputs, left padding) is tokenized by ``model.preprocess`` instead,
  still off the main thread.
- **Batches.** On the CPU they are sentence-transformers' own (its length order,
  ``batch_size`` rows), so every vector is bit for bit what ``model.encode`` gives. On a GPU
  they are sized by tokens: up to ``batch_size x max_seq_length`` padded tokens, texts in
  order of token length, so short queries go in large batches.
- **Overlap.** A producer thread builds the batches of the next blocks (pinned memory on a
  GPU) while the main thread runs the forward passes; a block's vectors stay on the device
  until the block ends and are written by a writer thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..io import ahead
from .wordpiece import WordPieceFast

TENSOR_KEYS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class Block:
    """One block's distinct texts, tokenized, and the batches they are encoded in."""

    index: int
    rows: np.ndarray  # output rows of the block's encoded texts (skipped rows left out)
    inverse: np.ndarray  # for each of ``rows``, its distinct text
    n_unique: int
    truncated: int  # texts of the block (repeats counted) cut to max_seq_length
    batches: list  # per batch: (distinct-text positions, a function that builds its features)


@dataclass
class Tokens:
    """A block's token ids: text i is ``flat[starts[i] : starts[i] + lengths[i]]``."""

    flat: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    truncated: np.ndarray  # cut to max_seq_length


class FastFeatures:
    """Padded feature tensors from the model's Rust tokenizer, as ``model.preprocess`` pads
    them (right padding to the longest text of the batch)."""

    def __init__(self, model, prompt: str | None):
        from tokenizers import Tokenizer

        tok = model.tokenizer
        self.prompt = prompt or ""
        self.tok = Tokenizer.from_str(tok.backend_tokenizer.to_str())  # a private copy to configure
        self.tok.no_padding()
        if model.max_seq_length:
            self.tok.enable_truncation(max_length=int(model.max_seq_length))
        else:
            self.tok.no_truncation()
        self.pad_id = tok.pad_token_id or 0
        self.keys = [k for k in TENSOR_KEYS if k in tok.model_input_names]
        self.extra: dict = {}
        self.wordpiece = WordPieceFast.of(self.tok)  # ASCII text of a BERT tokenizer: Arrow kernels

    def tokenize(self, texts: list[str]) -> Tokens:
        """The token ids of ``texts`` (the prompt prepended), as one flat array."""
        texts = [self.prompt + t for t in texts] if self.prompt else texts
        n = len(texts)
        if self.wordpiece is None or not n:
            return self._rust(texts)
        handled, flat, lengths, truncated = self.wordpiece.encode(texts)
        if len(handled) == n:
            return Tokens(flat, np.cumsum(lengths) - lengths, lengths, truncated)
        rest = np.setdiff1d(np.arange(n), handled)
        other = self._rust([texts[i] for i in rest])
        all_lengths = np.empty(n, dtype=np.int64)
        all_lengths[handled], all_lengths[rest] = lengths, other.lengths
        starts = np.empty(n, dtype=np.int64)
        starts[handled], starts[rest] = np.cumsum(lengths) - lengths, other.starts + len(flat)
        all_truncated = np.empty(n, dtype=bool)
        all_truncated[handled], all_truncated[rest] = truncated, other.truncated
        return Tokens(np.concatenate([flat, other.flat]), starts, all_lengths, all_truncated)

    def _rust(self, texts: list[str]) -> Tokens:
        """The Rust tokenizer's ids of ``texts`` (each text's ``Encoding`` made in Rust)."""
        from itertools import chain

        encode = getattr(self.tok, "encode_batch_fast", self.tok.encode_batch)  # no character offsets
        enc = encode(texts)
        ids = [e.ids for e in enc]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        truncated = np.fromiter((bool(e.overflowing) for e in enc), dtype=bool, count=len(enc))
        return Tokens(flat, np.cumsum(lengths) - lengths, lengths, truncated)

    def collate(self, tokens: Tokens, rows: np.ndarray, pin: bool = False) -> dict:
        """The feature dict of one batch: ``rows`` of ``tokens``, right-padded to the longest
        (NumPy gathers; no Python per token)."""
        import torch

        lengths = tokens.lengths[rows]
        width = int(lengths.max())
        cols = np.arange(width)
        mask = cols[None, :] < lengths[:, None]
        at = np.minimum(tokens.starts[rows][:, None] + cols[None, :], max(0, len(tokens.flat) - 1))
        input_ids = np.where(mask, tokens.flat[at] if len(tokens.flat) else 0, self.pad_id)
        arrays = {"input_ids": input_ids, "attention_mask": mask.astype(np.int64)}
        arrays["token_type_ids"] = np.zeros_like(input_ids)
        out = {k: torch.from_numpy(arrays[k]) for k in self.keys}
        if pin:
            out = {k: v.pin_memory() for k, v in out.items()}
        return {**out, **self.extra}


def fast_features(model, prompt: str | None, probe: list[str]) -> FastFeatures | None:
    """:class:`FastFeatures` for ``model`` if its tensors equal ``model.preprocess``'s on the
    ``probe`` texts (and the model tokenizes text into no other tensor); else None."""
    import torch

    if not probe or not hasattr(getattr(model, "tokenizer", None), "backend_tokenizer"):
        return None
    if getattr(model, "_can_flatten_inputs", lambda: False)():
        return None
    try:
        fast = FastFeatures(model, prompt)
    except Exception:  # a tokenizer that cannot be copied or configured: the slow path
        return None
    want = model.preprocess(probe, prompt=prompt or None)
    got = fast.collate(fast.tokenize(probe), np.arange(len(probe)))
    fast.extra = {k: v for k, v in want.items() if not isinstance(v, torch.Tensor)}
    tensors = {k for k, v in want.items() if isinstance(v, torch.Tensor)}
    if tensors != set(fast.keys) or any(not torch.equal(got[k], want[k]) for k in fast.keys):
        return None
    return fast


def distinct(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in order of first appearance, and each text's place among them:
    a block encodes each text once."""
    first: dict[str, int] = {}
    inverse = np.fromiter((first.setdefault(t, len(first)) for t in texts), dtype=np.int64, count=len(texts))
    return list(first), inverse


def st_batches(texts: list[str], batch_size: int) -> list[np.ndarray]:
    """sentence-transformers' ``encode`` batches: positions in its length order, cut every
    ``batch_size`` (the same argsort as its own, so the same order on ties)."""
    order = np.argsort([-len(t) for t in texts])
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


def token_batches(lengths: np.ndarray, max_tokens: int) -> list[np.ndarray]:
    """Positions in order of token length (longest first), cut so that no batch holds more
    than ``max_tokens`` padded tokens (at least one text each)."""
    order = np.argsort(-lengths, kind="stable")
    out, s = [], 0
    while s < len(order):
        n = max(1, max_tokens // max(1, int(lengths[order[s]])))
        out.append(order[s : s + n])
        s += n
    return out


class Pipeline:
    """Blocks of texts to vectors, with tokenizing and writing off the main thread.

    ``blocks`` yields ``(index, rows, texts)`` per block; ``write(rows, vectors)`` stores a
    block's float32 vectors (called from the writer thread, in block order)."""

    def __init__(self, model, *, batch_size: int, prompt: str | None, device: str, prefetch: int = 4):
        self.model, self.batch_size, self.prompt = model, batch_size, prompt or None
        self.cuda = str(device).startswith("cuda")
        limit = model.max_seq_length
        self.max_tokens = batch_size * int(limit if limit and np.isfinite(limit) else 512)
        self.fast: FastFeatures | None = None
        self.probed = False
        self.prefetch = prefetch

    def _plan(self, index: int, rows: np.ndarray, texts: list[str]) -> Block:
        unique, inverse = distinct(texts)
        if not self.probed:
            self.probed = True
            probe = [unique[i] for i in st_batches(unique, self.batch_size)[0]] if unique else []
            self.fast = fast_features(self.model, self.prompt, probe)
        if self.fast is None:
            batches = st_batches(unique, self.batch_size)
            feats = [
                (b, lambda b=b: self.model.preprocess([unique[i] for i in b], prompt=self.prompt)) for b in batches
            ]
            return Block(index, rows, inverse, len(unique), count_truncated(self.model, texts, self.prompt), feats)
        tokens = self.fast.tokenize(unique)
        batches = token_batches(tokens.lengths, self.max_tokens) if self.cuda else st_batches(unique, self.batch_size)
        feats = [(b, lambda b=b: self.fast.collate(tokens, b, pin=self.cuda)) for b in batches]
        return Block(index, rows, inverse, len(unique), int(tokens.truncated[inverse].sum()), feats)

    def _items(self, blocks) -> Iterator[tuple[str, object]]:
        """Each block, then its batches' features (made in the producer thread)."""
        for index, rows, texts in blocks:
            block = self._plan(index, rows, texts)
            yield "block", block
            for pos, make in block.batches:
                yield "batch", (pos, _index(pos, self.cuda), make())

    def run(self, blocks: Iterator, write: Callable[[np.ndarray, np.ndarray], None], on_block=None) -> int:
        """Encode every block; returns how many texts were truncated."""
        import torch

        writer = ThreadPoolExecutor(1)
        pending, truncated = [], 0
        device = self.model.device
        self.model.eval()
        try:
            block, buf, done = None, None, 0
            # blocks and batches made by a producer thread (stopped when this returns or raises)
            with contextlib.closing(ahead(self._items(blocks), depth=self.prefetch * 8)) as items:
                for kind, item in items:
                    if kind == "block":
                        block, done = item, 0
                        truncated += block.truncated
                        buf = None
                        if block.n_unique == 0:
                            pending.append(writer.submit(_write_block, write, block, None, None, on_block))
                        continue
                    pos, index, features = item
                    with torch.inference_mode():
                        features = {
                            k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                            for k, v in features.items()
                        }
                        emb = self.model(features)["sentence_embedding"]
                        emb = torch.nn.functional.normalize(emb, p=2, dim=1)
                        if buf is None:
                            buf = torch.empty((block.n_unique, emb.shape[1]), dtype=emb.dtype, device=emb.device)
                        buf[index.to(emb.device, non_blocking=True)] = emb
                    done += len(pos)
                    if done == block.n_unique:
                        host, event = _to_host(buf, self.cuda)
                        pending.append(writer.submit(_write_block, write, block, host, event, on_block))
            for f in pending:
                f.result()
        finally:
            writer.shutdown(wait=True)
        return truncated


def _index(pos: np.ndarray, cuda: bool):
    """A batch's rows in its block's buffer, as a tensor (pinned for a GPU: its copy must
    not wait for the kernels queued before it)."""
    import torch

    t = torch.from_numpy(pos)
    return t.pin_memory() if cuda else t


def _to_host(buf, cuda: bool):
    """Start copying a block's vectors to the host; (tensor, event to wait on or None)."""
    import torch

    if not cuda:
        return buf, None
    host = torch.empty(buf.shape, dtype=buf.dtype, pin_memory=True)
    host.copy_(buf, non_blocking=True)
    event = torch.cuda.Event()
    event.record()
    return host, event


def _write_block(write, block: Block, host, event, on_block) -> None:
    if event is not None:
        event.synchronize()
    if host is not None:
        write(block.rows, host.float().numpy()[block.inverse])
    if on_block:
        on_block(block)


def count_truncated(model, texts: list[str], prompt: str | None) -> int:
    """How many texts (with their prompt) exceed ``max_seq_length`` tokens, i.e. are
    truncated by the tokenizer when encoded (the slow path's count)."""
    import math

    if not texts or not math.isfinite(model.max_seq_length or math.inf) or not callable(model.tokenizer):
        return 0  # a model without a sequence limit (StaticEmbedding) truncates nothing
    full = [f"{prompt}{t}" for t in texts] if prompt else texts
    ids = model.tokenizer(full, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    return sum(len(x) > model.max_seq_length for x in ids)
