"""Generate a near-duplicate-heavy BeIR retrieval set from Debian's package descriptions.

    python benchmarks/make_debian_retrieval.py OUT_DIR [--train N] [--test N] [--corpus N] [--seed S]
        [--translations FILE]
    (defaults: 5,000 training and 1,000 test queries, 12,000 passages)

The text is the English package descriptions of Debian 12 (bookworm) main, as the archive
serves them (``dists/bookworm/main/i18n/Translation-en.xz``, fetched over http with
retries and its SHA-256 checked, or read from ``--translations``); written by Debian's
maintainers, none of it by this project. Each binary package gives one pair:

- the query is its one-line synopsis ("GNOME XML library - development files");
- the passage is its long description.

Packages built from one source share their description's first paragraph and differ in
a sentence ("This package contains the development files"), so the corpus is full of
near-copies of a positive, and the synopses of siblings are near-paraphrases: the false
negatives a margin or a similarity cap is meant to catch. Whole families (packages whose
first paragraph is the same) go to one side of the split, so no test query's sibling is
trained on. Identical long descriptions are one passage (the positive of each package
that has it); synopses given to more than one package are left out (ambiguous), and so
are transitional and dummy packages and descriptions under 12 words.

Output (a BeIR folder): ``corpus.jsonl``, ``queries.jsonl``, ``qrels/train.tsv``,
``qrels/test.tsv``. Deterministic for a given archive file and seed.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_docstring_retrieval as beir  # noqa: E402

URL = "http://deb.debian.org/debian/dists/bookworm/main/i18n/Translation-en.xz"
SHA256 = "a3d4a0bfd8e9242810b0885eda7c1a6e05dac15b333ddbaab03ba56f2dfa4bf0"  # bookworm 12.12
SKIP = ("transitional", "dummy package", "debug symbols")


def translations(path: Path) -> list[tuple[str, str, list[str]]]:
    """(package, synopsis, paragraphs of the long description) in the file's order."""
    out, pkg, synopsis, paras = [], None, None, [[]]
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        for line in [*fh, "\n"]:
            if line.startswith("Package: "):
                pkg = line[9:].strip()
            elif line.startswith("Description-en: "):
                synopsis, paras = line[16:].strip(), [[]]
            elif line.startswith(" ") and synopsis is not None:
                text = line.strip()
                if text == ".":
                    paras.append([])
                else:
                    paras[-1].append(text)
            elif not line.strip() and synopsis is not None:
                out.append((pkg, synopsis, [" ".join(p) for p in paras if p]))
                pkg, synopsis = None, None
    return out


def build(entries, n_train: int, n_test: int, n_corpus: int, seed: int = 0):
    """(queried pairs, corpus passages, doc ids, n_test), as make_docstring_retrieval.build."""
    kept = []
    for _, synopsis, paras in entries:
        passage = " ".join(" ".join(paras).split()[:300])
        if any(s in synopsis.lower() for s in SKIP) or len(passage.split()) < 12:
            continue
        kept.append((synopsis, passage, paras[0]))
    times = Counter(s.casefold() for s, _, _ in kept)
    families = defaultdict(list)  # first paragraph -> its packages' (synopsis, passage)
    for synopsis, passage, first in kept:
        families[first].append((synopsis if times[synopsis.casefold()] == 1 else None, passage))
    order = sorted(families, key=lambda f: hashlib.sha256(f.encode()).hexdigest())
    random.Random(seed).shuffle(order)
    test, train, rest = [], [], []
    for f in order:
        pairs = [p for p in families[f] if p[0]]
        side = test if len(test) < n_test else train if len(train) < n_train else None
        if side is None:
            rest.extend(p for _, p in families[f])
            continue
        side.extend(pairs)
        rest.extend(p for s, p in families[f] if not s)
    if len(train) < n_train:
        raise SystemExit(f"only {len(test) + len(train)} usable packages; ask for fewer queries")
    queried = test[:n_test] + train[:n_train]
    passages = list(dict.fromkeys([p for _, p in queried] + rest))
    corpus = passages[: max(n_corpus, len(dict.fromkeys(p for _, p in queried)))]
    index = {p: i for i, p in enumerate(corpus)}
    order = list(range(len(corpus)))
    random.Random(seed + 1).shuffle(order)
    docid = {i: f"d{j}" for j, i in enumerate(order)}
    # make_docstring_retrieval.write names the k-th query's positive docid[k]
    return queried, corpus, {k: docid[index[p]] for k, (_, p) in enumerate(queried)}, docid, n_test


def near_copy_share(queried, corpus) -> float:
    """Share of queries whose positive shares its first 20 words with another passage."""
    heads = Counter(" ".join(p.split()[:20]) for p in corpus)
    return sum(heads[" ".join(p.split()[:20])] > 1 for _, p in queried) / len(queried)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--train", type=int, default=5000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--corpus", type=int, default=12000, help="passages at least the queries' own")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--translations", type=Path, help="a local Translation-en.xz (its SHA-256 is checked)")
    a = ap.parse_args()
    from hardneg.data.sources import download_http, verify_checksum

    src = a.translations or a.out.parent / "Translation-en.xz"
    if a.translations:
        verify_checksum(src, "debian", str(src), sha256=SHA256)
    elif not src.exists():
        download_http(URL, src, "debian", sha256=SHA256)
    queried, corpus, positive, docid, n_test = build(translations(src), a.train, a.test, a.corpus, a.seed)
    beir.write(a.out, queried, corpus, docid, n_test, positive=positive)
    print(
        f"{a.out}: {len(queried) - n_test} train and {n_test} test queries, {len(corpus)} passages; "
        f"{near_copy_share(queried, corpus):.0%} of the positives share their first 20 words with another passage"
    )


if __name__ == "__main__":
    main()
