"""Generate a large pairs file shaped like the real ones, from real English text.

    python benchmarks/make_realistic_pairs.py OUT.jsonl.gz [ROWS] [--shape=amazon|gooaq]
    (default 200,000 rows, shape amazon)

The text is English prose that ships with this machine: the docstrings of the Python
standard library and of the installed packages (split into sentences). Passages are runs
of 2 to 6 consecutive sentences; queries are one sentence of their passage, shortened.
The default shape (``amazon``) follows amazon_review_2018 and the other real files:

- one query text ("Five Stars") on about 12% of rows;
- other repeated query texts with a heavy (Zipf) tail;
- about 3% empty queries ("" and " "), 0.3% empty positives;
- about 15% of positives repeat an earlier row's passage (shared answers);
- a few malformed lines and lone surrogates (bad rows, well under max_bad_rows).

``--shape=gooaq`` follows gooaq and the other question-answer files instead: every query
is its own (almost always distinct) question-like sentence, with no repeated or empty query
texts; shared passages, empty positives and bad rows are as above.

Output is deterministic for a given Python and package set (seeded; files walked in
sorted order).
"""

from __future__ import annotations

import gzip
import json
import random
import re
import sys

from python_sources import docstrings

TITLE_TEXT = "Five Stars"


def english_sentences(min_words: int = 4, limit: int | None = None) -> list[str]:
    """Sentences from docstrings (prose only: code-like paragraphs are skipped); the first
    ``limit`` of them (None: all)."""
    out: list[str] = []
    seen: set[str] = set()
    for _node, doc in docstrings():
        if limit is not None and len(out) >= limit:
            break
        for para in doc.split("\n\n"):
            para = " ".join(para.split())
            if len(para) < 40 or not para[0].isalpha() or re.search(r"[>{}=_|]|::|\.\.\.", para):
                continue
            for s in re.split(r"(?<=[.!?])\s+", para):
                if len(s.split()) >= min_words and s not in seen:
                    seen.add(s)
                    out.append(s)
    return out


SHAPES = ("amazon", "gooaq")


def make_rows(n_rows: int, seed: int = 0, shape: str = "amazon", sentence_limit: int | None = None) -> list:
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: use one of {SHAPES}")
    rng = random.Random(seed)
    sents = english_sentences(limit=sentence_limit)
    # passages: runs of consecutive sentences (same docstring order), enough for every row
    passages = []
    i = 0
    while len(passages) < n_rows:
        k = rng.randint(2, 6)
        passages.append(" ".join(sents[(i + j) % len(sents)] for j in range(k)))
        i += rng.randint(1, 3)
    rng.shuffle(passages)
    # repeated query texts: short sentences, drawn with a Zipf tail
    pool = [s for s in sents if len(s.split()) <= 8][:5000]
    weights = [1 / (r + 1) ** 1.1 for r in range(len(pool))]
    rows: list = []
    used: list[str] = []
    nxt = 0
    for _ in range(n_rows):
        u = rng.random()
        if used and rng.random() < 0.15:
            passage = rng.choice(used)
        else:
            passage = passages[nxt]
            nxt += 1
            used.append(passage)
        if shape == "gooaq":
            words = rng.choice(re.split(r"(?<=[.!?])\s+", passage)).split()
            query = " ".join(words[: rng.randint(5, 14)]) + "?"
        elif u < 0.12:
            query = TITLE_TEXT
        elif u < 0.15:
            query = rng.choice(["", " "])
        elif u < 0.30:
            query = rng.choices(pool, weights)[0]
        else:
            words = rng.choice(re.split(r"(?<=[.!?])\s+", passage)).split()
            query = " ".join(words[: rng.randint(3, 12)])
        if rng.random() < 0.003:
            passage = ""
        rows.append([query, passage])
    # a few bad rows: malformed JSON and lone surrogates (valid JSON, not UTF-8 encodable)
    for j in range(5):
        at = rng.randrange(len(rows))
        rows[at] = '{"query": "truncated' if j < 3 else '["lone \\ud83d surrogate", "x"]'
    return rows


def write(path: str, rows: list) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--shape")]
    shape = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--shape=")), "amazon")
    out = args[0]
    n = int(args[1]) if len(args) > 1 else 200_000
    rows = make_rows(n, shape=shape)
    write(out, rows)
    print(f"{out}: {len(rows)} rows")
