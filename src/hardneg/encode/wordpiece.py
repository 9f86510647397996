"""A BERT WordPiece tokenizer's ids for plain-ASCII text, computed with Arrow kernels.

The Rust tokenizer of a BERT-family model (all-MiniLM, bge, e5, gte: ``BertNormalizer``,
``BertPreTokenizer``, ``WordPiece``) spends most of its time normalizing and splitting
each text into words, with character alignments kept for every piece. For text that is
plain ASCII that work is a few string kernels over the whole block:

- ``BertNormalizer`` removes control characters and lowercases (its accent stripping and
  CJK spacing change no ASCII character);
- ``BertPreTokenizer`` splits at whitespace and isolates each ASCII punctuation character
  (``!`` to ``/``, ``:`` to ``@``, ``[`` to `````, ``{`` to ``~``);
- ``WordPiece`` then runs once per distinct word of the block, in the model's own
  tokenizer, and each text's ids are gathered from its words' pieces with NumPy.

The ids, truncation and special tokens are the tokenizer's own. A text that is not ASCII,
or that holds an added token's text (``[MASK]``, matched case-insensitively), is left to
the Rust tokenizer; so is every text of a tokenizer of another shape (:meth:`WordPieceFast.of`
returns None). ``tests/test_wordpiece.py`` compares both on adversarial and random text.
"""

from __future__ import annotations

import json

import numpy as np

from ..arrays import runs_of

CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"  # what BertNormalizer's clean_text removes from ASCII
PUNCT = "([!-/:-@\\[-`{-~])"  # what BertPreTokenizer isolates in ASCII (Rust's is_ascii_punctuation)


def _specials(post: dict | None) -> tuple[list[int], list[int]] | None:
    """The ids a single sequence's post-processor puts before and after it."""
    if post is None:
        return [], []
    if post.get("type") == "BertProcessing":
        return [post["cls"][1]], [post["sep"][1]]
    if post.get("type") != "TemplateProcessing":
        return None
    before, after, seen = [], [], False
    for piece in post["single"]:
        if "Sequence" in piece:
            if piece["Sequence"]["id"] != "A" or seen:
                return None
            seen = True
        else:
            ids = post["special_tokens"][piece["SpecialToken"]["id"]]["ids"]
            (after if seen else before).extend(ids)
    return (before, after) if seen else None


class WordPieceFast:
    """Ids of ASCII texts as ``tokenizer.encode_batch`` gives them (``tokenizer``: a
    ``tokenizers.Tokenizer`` with its truncation set and no padding)."""

    def __init__(self, spec: dict, words, lowercase: bool, before: list[int], after: list[int]):
        trunc = spec.get("truncation")
        self.words = words  # the model alone: one word in, its pieces out
        self.lowercase = lowercase
        self.before = np.asarray(before, dtype=np.int64)
        self.after = np.asarray(after, dtype=np.int64)
        self.limit = None if trunc is None else int(trunc["max_length"]) - len(before) - len(after)
        self.added = sorted({t["content"] for t in spec.get("added_tokens", []) if t["content"]})
        self.pieces = Pieces()

    @classmethod
    def of(cls, tokenizer) -> WordPieceFast | None:
        """The fast path of ``tokenizer``, or None where its shape is not plain BERT."""
        from tokenizers import Tokenizer

        spec = json.loads(tokenizer.to_str())
        norm, pre, trunc = spec.get("normalizer") or {}, spec.get("pre_tokenizer") or {}, spec.get("truncation")
        if norm.get("type") != "BertNormalizer" or not norm.get("clean_text"):
            return None
        if pre.get("type") != "BertPreTokenizer" or (spec.get("model") or {}).get("type") != "WordPiece":
            return None
        if trunc is not None and (trunc.get("direction", "Right") != "Right" or trunc.get("stride", 0)):
            return None
        specials = _specials(spec.get("post_processor"))
        if specials is None or spec.get("padding") is not None:
            return None
        words = Tokenizer.from_str(tokenizer.to_str())
        words.normalizer = None
        words.pre_tokenizer = None
        words.post_processor = None
        words.no_truncation()
        return cls(spec, words, bool(norm.get("lowercase")), *specials)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(handled, flat, lengths, truncated)``: the positions of the texts this path
        tokenized and, for each of them in that order, its ids (one flat array), their
        count and whether it was cut to the limit."""
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(texts, pa.large_string())
        ok = pc.string_is_ascii(arr)
        for token in self.added:
            ok = pc.and_(ok, pc.invert(pc.match_substring(arr, token, ignore_case=True)))
        handled = np.flatnonzero(ok.to_numpy(zero_copy_only=False))
        text = arr.take(pa.array(handled))
        if self.lowercase:
            text = pc.ascii_lower(text)
        text = pc.replace_substring_regex(pc.replace_substring_regex(text, CONTROL, ""), PUNCT, " \\1 ")
        split = pc.ascii_split_whitespace(text)
        counts = pc.list_value_length(split).to_numpy(zero_copy_only=False).astype(np.int64)
        coded = pc.dictionary_encode(pc.list_flatten(split))
        word_of = coded.indices.to_numpy(zero_copy_only=False).astype(np.int64)  # every word, in text order
        start, plen = self.pieces.of(coded.dictionary.to_pylist(), self.words)
        flat, lengths = _flatten(self.pieces.ids, start, plen, word_of, counts)
        return (handled, *self._finish(flat, lengths))

    def _finish(self, body: np.ndarray, full: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each text's ids cut to the limit, between the special tokens."""
        kept = full if self.limit is None else np.minimum(full, max(self.limit, 0))
        nb, na = len(self.before), len(self.after)
        lengths = kept + nb + na
        out_starts = np.cumsum(lengths) - lengths
        out = np.empty(int(lengths.sum()), dtype=np.int64)
        out[runs_of(out_starts + nb, kept)] = body[runs_of(np.cumsum(full) - full, kept)]  # each text's first kept
        for j, token in enumerate(self.before):
            out[out_starts + j] = token
        for j, token in enumerate(self.after):
            out[out_starts + nb + kept + j] = token
        return out, lengths, full > kept


class Pieces:
    """The word pieces of every distinct word met so far, so that a block runs WordPiece
    only on words no earlier block had (``cap`` words at most: then it starts over)."""

    def __init__(self, cap: int = 1_000_000):
        self.cap = cap
        self.place: dict[str, int] = {}
        self.ids = np.empty(0, dtype=np.int64)  # every known word's pieces, one after another
        self.start = np.empty(0, dtype=np.int64)
        self.length = np.empty(0, dtype=np.int64)
        self.used = 0

    def of(self, words: list[str], model) -> tuple[np.ndarray, np.ndarray]:
        """Where each of ``words`` has its pieces in :attr:`ids`, and how many (``model``: a
        tokenizer that runs WordPiece alone)."""
        places = np.fromiter((self.place.get(w, -1) for w in words), dtype=np.int64, count=len(words))
        new = np.flatnonzero(places < 0)
        if len(self.place) + len(new) > self.cap:
            self.__init__(self.cap)
            places, new = np.full(len(words), -1, dtype=np.int64), np.arange(len(words))
        if len(new):
            fresh = [words[i] for i in new]
            # one pre-split sequence: one Encoding for all the new words, not one each
            enc = model.encode(fresh, is_pretokenized=True, add_special_tokens=False)
            ids = np.array(enc.ids, dtype=np.int64)
            lengths = np.bincount(np.array(enc.word_ids, dtype=np.int64), minlength=len(fresh))
            first = len(self.place)
            self.place.update(zip(fresh, range(first, first + len(fresh)), strict=True))
            self.ids = _put(self.ids, self.used, ids)
            self.start = _put(self.start, first, self.used + np.cumsum(lengths) - lengths)
            self.length = _put(self.length, first, lengths)
            self.used += len(ids)
            places[new] = np.arange(first, first + len(fresh))
        return self.start[places], self.length[places]


def _put(store: np.ndarray, at: int, values: np.ndarray) -> np.ndarray:
    """``store`` with ``values`` written from ``at`` on (grown by doubling where needed)."""
    if at + len(values) > len(store):
        grown = np.empty(max(at + len(values), 2 * len(store)), dtype=store.dtype)
        grown[:at] = store[:at]
        store = grown
    store[at : at + len(values)] = values
    return store


def _flatten(pieces, start, plen, word_of, counts) -> tuple[np.ndarray, np.ndarray]:
    """Every text's word pieces as one flat array, and each text's piece count (the block's
    distinct words have ``plen`` pieces from ``start`` in ``pieces``; ``word_of``: each word
    of the texts, in order, as a distinct word's place; ``counts``: each text's words)."""
    occ = plen[word_of]
    flat = pieces[runs_of(start[word_of], occ)]
    ends = np.concatenate([[0], np.cumsum(occ)])
    last = np.cumsum(counts)
    return flat, ends[last] - ends[last - counts]
