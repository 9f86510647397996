"""The search measurements behind BENCHMARKS.md's notes on what changed and what was tried.

    python benchmarks/bench_search_variants.py RUN_EMB_DIR MINILM_DIR

RUN_EMB_DIR is ``results/embeddings/<key>/realistic/2shards`` of a ``bench_realistic.py``
run (stand-in encoder); MINILM_DIR is the output of ``make_minilm_vectors.py``. Prints:

1. the exact rescoring, large steps (before) against cache-sized steps (now), one thread,
   4,096 queries x 116 candidates on 73,728 x 384 random passages, and that both agree;
2. how many query searches a per-chunk (4,096) dedup makes against the whole-file one;
3. a bf16 first stage on the CPU: the product alone against fp32, then top-m by bf16,
   exact float64 rescoring, and the share of queries whose top-100 a rigorous error bound
   proves complete, against faiss' flat search, on 8,192 queries x passage shard 0;
4. a list-major IVF scan (each list's vectors times all the chunk's queries probing it,
   one BLAS product, merged into running top-m lists) against faiss' flat index, with the
   recall@100 of the exactly rescored top-100, on the MiniLM vectors.
None of 3 and 4 is used by the workflow; they are kept to show why.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import faiss
import numpy as np
import torch

from hardneg.search.search import exact_scores  # noqa: E402
from hardneg.search.vectors import pair_dot  # noqa: E402

THREADS = 2


def rescoring() -> None:
    rng = np.random.default_rng(0)
    p = rng.standard_normal((73728, 384)).astype(np.float32)
    q = rng.standard_normal((4096, 384)).astype(np.float32)
    idx = rng.integers(0, 73728, (4096, 116))

    def large_steps() -> np.ndarray:  # the code before this change
        out = np.empty(idx.shape, np.float32)
        step = max(1, 2_000_000 // (idx.shape[1] * q.shape[1]))
        for s in range(0, len(q), step):
            out[s : s + step] = pair_dot(
                q[s : s + step].astype(np.float64)[:, None, :], p[idx[s : s + step]].astype(np.float64)
            )
        return out

    t = time.perf_counter()
    old = large_steps()
    t_old = time.perf_counter() - t
    t = time.perf_counter()
    new = exact_scores(q, p, idx, threads=1)
    t_new = time.perf_counter() - t
    print(
        f"1. rescoring 4,096 x 116: large steps {t_old:.2f} s, cache-sized steps {t_new:.2f} s, "
        f"same values: {np.array_equal(old, new)}"
    )


def dedup(emb: Path) -> None:
    q = np.concatenate([np.load(f) for f in sorted(emb.glob("queries.*.npy"))])
    per_chunk = sum(len(np.unique(q[s : s + 4096], axis=0)) for s in range(0, len(q), 4096))
    print(
        f"2. {len(q):,} query rows: {per_chunk:,} searches with a per-chunk dedup, "
        f"{len(np.unique(q, axis=0)):,} with the whole-file one"
    )


def bf16_first_stage(emb: Path, eps: float = 0.0075) -> None:
    torch.set_num_threads(THREADS)
    faiss.omp_set_num_threads(THREADS)
    p = np.load(emb / "passages.0.npy")
    q = np.ascontiguousarray(np.load(emb / "queries.0.npy")[:8192])
    tp, tq = torch.from_numpy(p), torch.from_numpy(q)
    for dt in (torch.float32, torch.bfloat16):
        pd = tp.to(dt)
        t = time.perf_counter()
        for s in range(0, len(q), 1024):
            _ = tq[s : s + 1024].to(dt) @ pd.T
        print(f"3. product alone, {dt}: {time.perf_counter() - t:.2f} s")
    index = faiss.IndexFlatIP(p.shape[1])
    index.add(p)
    t = time.perf_counter()
    ids = index.search(q, 116)[1]
    exact_scores(q, p, ids, THREADS)
    print(f"3. faiss flat top-116 + exact rescoring: {time.perf_counter() - t:.2f} s")
    pb = tp.bfloat16()
    for m in (200, 300):
        t = time.perf_counter()
        top, last = [], []
        for s in range(0, len(q), 1024):
            v, i = torch.topk(torch.from_numpy(q[s : s + 1024]).bfloat16() @ pb.T, m, dim=1)
            top.append(i.numpy())
            last.append(v[:, -1].float().numpy())
        sc = exact_scores(q, p, np.concatenate(top), THREADS)
        took = time.perf_counter() - t
        proved = (np.sort(sc, axis=1)[:, -100] > np.concatenate(last) + eps).mean()
        print(
            f"3. bf16 top-{m} + exact rescoring: {took:.2f} s, "
            f"top-100 proved complete for {100 * proved:.1f}% (bound {eps})"
        )


def list_major_ivf(vec: Path, nprobes=(64, 128, 160), m: int = 116, k: int = 100) -> None:
    faiss.omp_set_num_threads(THREADS)
    x = np.ascontiguousarray(np.concatenate([np.load(vec / "passages.0.npy"), np.load(vec / "queries.0.npy")]))
    n, dim = x.shape
    q = x[np.linspace(0, n - 1, 20000).astype(np.int64)]
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    ref = flat.search(q, m)[1]
    t_flat = time.perf_counter() - t
    nlist = int(np.sqrt(n))
    km = faiss.Kmeans(dim, nlist, niter=20, seed=1234)
    km.train(x[np.linspace(0, n - 1, min(n, 64 * nlist)).astype(np.int64)])
    cent = faiss.IndexFlatIP(dim)
    cent.add(km.centroids)
    assign = cent.search(x, 1)[1].ravel()
    order = np.argsort(assign, kind="stable")
    bounds = np.searchsorted(assign[order], np.arange(nlist + 1))
    xs = x[order]

    def search(qc: np.ndarray, nprobe: int) -> np.ndarray:
        probe = cent.search(qc, nprobe)[1]
        best_s = np.full((len(qc), m), -np.inf, np.float32)
        best_i = np.full((len(qc), m), -1, np.int64)
        fl = probe.ravel()
        o = np.argsort(fl, kind="stable")
        ql = np.repeat(np.arange(len(qc)), nprobe)[o]
        lb = np.searchsorted(fl[o], np.arange(nlist + 1))
        for li in range(nlist):
            qs, a, b = ql[lb[li] : lb[li + 1]], bounds[li], bounds[li + 1]
            if not len(qs) or a == b:
                continue
            cs = np.concatenate([best_s[qs], qc[qs] @ xs[a:b].T], axis=1)
            ci = np.concatenate([best_i[qs], np.broadcast_to(order[a:b], (len(qs), b - a))], axis=1)
            if cs.shape[1] > m:
                pick = np.argpartition(-cs, m - 1, axis=1)[:, :m]
                cs, ci = np.take_along_axis(cs, pick, 1), np.take_along_axis(ci, pick, 1)
            best_s[qs], best_i[qs] = cs, ci
        return best_i

    def top_k(ids: np.ndarray) -> np.ndarray:
        sc = exact_scores(q, x, ids, THREADS)
        return np.take_along_axis(ids, np.argsort(-sc, axis=1, kind="stable")[:, :k], 1)

    want = top_k(ref)
    for nprobe in nprobes:
        t = time.perf_counter()
        got = np.concatenate([search(q[s : s + 4096], nprobe) for s in range(0, len(q), 4096)])
        took = time.perf_counter() - t
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(want, top_k(got), strict=True)])
        print(
            f"4. list-major IVF nprobe {nprobe}/{nlist}: {took:.1f} s vs flat {t_flat:.1f} s "
            f"({t_flat / took:.2f}x), recall@100 {recall:.4f}"
        )


if __name__ == "__main__":
    run_emb, minilm = Path(sys.argv[1]), Path(sys.argv[2])
    rescoring()
    dedup(run_emb)
    bf16_first_stage(run_emb)
    list_major_ivf(minilm)
