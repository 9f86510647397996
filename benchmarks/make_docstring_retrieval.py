"""Generate a BeIR-format retrieval set with real structure from real English text.

    python benchmarks/make_docstring_retrieval.py OUT_DIR [--train N] [--test N] [--corpus N] [--seed S]
    (defaults: 5,000 training and 1,000 test queries; every documented item in the corpus)

The text is the documentation that ships with this machine: the docstrings of the Python
standard library and of the installed packages, none of it written by this project. Each
documented function or class gives one query-passage pair:

- the query is the docstring's summary (its first paragraph, as a one-line question of
  what the code does: "Return the number of bytes in the buffer.");
- the passage is the rest of the docstring's prose (its description), which seldom
  repeats the summary's words; code, tables and parameter lists are left out.

Libraries document the same ideas many times (numpy, torch and pandas each describe
their own ``reshape``), so the corpus holds the near-duplicates and false negatives that
real mining meets. Pairs are deduplicated by summary and by passage, shuffled with the
seed and split into test and train queries (``qrels/test.tsv``, ``qrels/train.tsv``);
the passages of documented items beyond those fill the corpus as distractors.

Output (a BeIR folder): ``corpus.jsonl``, ``queries.jsonl``, ``qrels/train.tsv``,
``qrels/test.tsv``. Deterministic for a given Python and package set.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
from pathlib import Path

from python_sources import docstrings

CODE_LIKE = re.compile(r"[>{}=|`\\]|::|\.\.\.|^\s*[-*:]|^\w+\s*:|^(Parameters|Returns|Examples?|Notes?|Raises|Args)\b")


def prose(paragraph: str) -> str | None:
    """The paragraph on one line if it reads as prose, else None."""
    text = " ".join(paragraph.split())
    if len(text) < 30 or not text[0].isalpha() or CODE_LIKE.search(text):
        return None
    return text


def documented_items() -> list[tuple[str | None, str]]:
    """(summary, description) of every documented module, function and class, in file
    order; summary is None where it is not a one-line prose sentence (such items only
    give distractor passages)."""
    out = []
    for node, doc in docstrings():
        paras = [p for p in re.split(r"\n\s*\n", doc) if p.strip()]
        summary = prose(paras[0]) if paras else None
        if isinstance(node, ast.Module) or (summary and not 4 <= len(summary.split()) <= 30):
            summary = None
        body = [t for t in map(prose, paras[1:]) if t]
        description = " ".join(body)
        if len(description.split()) >= 20:
            out.append((summary, " ".join(description.split()[:300])))
    return out


def build(n_train: int, n_test: int, n_corpus: int, seed: int = 0):
    items = documented_items()
    seen_q, seen_p, pairs = set(), set(), []
    for summary, desc in items:
        if desc in seen_p or (summary and summary.lower() in seen_q):
            continue
        seen_p.add(desc)
        if summary:
            seen_q.add(summary.lower())
        pairs.append((summary, desc))
    rng = random.Random(seed)
    rng.shuffle(pairs)
    n_pairs = n_train + n_test
    with_query = [p for p in pairs if p[0]]
    if len(with_query) < n_pairs:
        raise SystemExit(f"only {len(with_query)} documented items with a summary here; ask for fewer queries")
    queried = with_query[:n_pairs]
    rest = [d for s, d in pairs if not s] + [d for _, d in with_query[n_pairs:]]
    rng.shuffle(rest)
    corpus = [d for _, d in queried] + (rest[: max(0, n_corpus - n_pairs)] if n_corpus else rest)
    order = list(range(len(corpus)))
    rng.shuffle(order)
    docid = {i: f"d{j}" for j, i in enumerate(order)}
    return queried, corpus, docid, n_test


def write(out: Path, queried, corpus, docid, n_test: int, positive=None) -> None:
    """The BeIR folder; the k-th query's positive is ``positive[k]`` (default ``docid[k]``:
    the k-th passage)."""
    positive = positive or docid
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    by_id = sorted(range(len(corpus)), key=lambda i: int(docid[i][1:]))
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for i in by_id:
            fh.write(json.dumps({"_id": docid[i], "title": "", "text": corpus[i]}, ensure_ascii=False) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as fh:
        for k, (summary, _) in enumerate(queried):
            fh.write(json.dumps({"_id": f"q{k}", "text": summary}, ensure_ascii=False) + "\n")
    for split, ks in (("test", range(n_test)), ("train", range(n_test, len(queried)))):
        with open(out / "qrels" / f"{split}.tsv", "w", encoding="utf-8") as fh:
            fh.write("query-id\tcorpus-id\tscore\n")
            for k in ks:
                fh.write(f"q{k}\t{positive[k]}\t1\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=5000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--corpus", type=int, default=0, help="passages at most (0: every documented item)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    queried, corpus, docid, n_test = build(a.train, a.test, a.corpus, a.seed)
    write(Path(a.out), queried, corpus, docid, n_test)
    print(f"{a.out}: {len(queried) - n_test} train and {n_test} test queries, {len(corpus)} passages")
