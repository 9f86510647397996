"""IVF against the exact flat index: recall@k of the final (exactly rescored) top-k, and
the speed-up, on a workflow's cached embeddings.

    python benchmarks/bench_ivf.py EMBEDDINGS_DIR [N_QUERIES] [NLIST,NPROBE ...]   (default auto,auto)

EMBEDDINGS_DIR is ``results/embeddings/<key>/<dataset>/<n>shards`` of a run. The corpus
is every passage and query vector there (at least 200k rows for the benchmark in
BENCHMARKS.md); N_QUERIES (default 5000) evenly spaced queries are searched with the
flat index and with IVF at each (nlist, nprobe), both through ``search_shard`` (so with
the same over-fetch and exact float64 rescoring). Prints recall@100 and times.
"""

from __future__ import annotations

import glob
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from stages import search_files  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hardneg.search.search import FaissIndex, ivf_nlist, ivf_nprobe  # noqa: E402

TOPK = 100


def main(emb_dir: str, n_queries: str = "5000", *settings: str) -> None:
    parts = [
        np.load(f)
        for f in sorted(glob.glob(f"{emb_dir}/passages.*.npy")) + sorted(glob.glob(f"{emb_dir}/queries.*.npy"))
    ]
    corpus = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
    corpus = corpus[np.abs(corpus).sum(axis=1) > 0]  # queries that share a passage's vector are zero rows
    q = corpus[np.linspace(0, len(corpus) - 1, int(n_queries)).astype(np.int64)]
    runs = [s.split(",") for s in settings] or [["auto", "auto"]]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "q.npy", q)
        np.save(tmp / "p.npy", corpus)

        def run(tag, **kw):
            t = time.perf_counter()
            search_files(
                [tmp / "q.npy"],
                tmp / "p.npy",
                0,
                tmp / f"{tag}.ids.npy",
                tmp / f"{tag}.sc.npy",
                topk=TOPK,
                threads=2,
                **kw,
            )
            return np.load(tmp / f"{tag}.ids.npy"), time.perf_counter() - t

        flat, t_flat = run("flat")
        print(f"corpus {len(corpus):,} x {corpus.shape[1]}, {len(q):,} queries, top{TOPK}")
        print(f"flat: {t_flat:.1f} s")
        per_q_flat = t_flat / len(q)
        for nlist, nprobe in runs:
            nl = nlist if nlist == "auto" else int(nlist)
            npr = nprobe if nprobe == "auto" else int(nprobe)
            t = time.perf_counter()
            FaissIndex(corpus, 2, "ivf", nl, npr)  # training + adding, timed alone
            t_build = time.perf_counter() - t
            ids, t_ivf = run(f"ivf{nlist}-{nprobe}", index="ivf", nlist=nl, nprobe=npr)
            recall = np.mean([len(set(a) & set(b)) / TOPK for a, b in zip(flat, ids, strict=True)])
            per_q = (t_ivf - t_build) / len(q)
            n_all = len(corpus)  # a dataset with as many queries as passages (gooaq-like)
            projected = n_all * per_q_flat / (t_build + n_all * per_q)
            print(
                f"ivf nlist={ivf_nlist(len(corpus), nl)} nprobe={ivf_nprobe(ivf_nlist(len(corpus), nl), npr)} "
                f"({nlist},{nprobe}): recall@{TOPK} {recall:.4f}; build "
                f"{t_build:.1f} s, {1e3 * per_q:.2f} ms/query vs flat {1e3 * per_q_flat:.2f} ms/query; "
                f"speed-up at {n_all:,} queries {projected:.1f}x"
            )


if __name__ == "__main__":
    main(*sys.argv[1:])
