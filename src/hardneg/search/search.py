"""Search stage: exact top-k per passage shard, then a merge into one candidate table.

Each shard job holds one passage shard in a faiss ``IndexFlatIP`` and streams the
queries through it in chunks, so memory is bounded by one shard. Faiss over-fetches
``topk + overfetch`` candidates; these are rescored exactly (float64 dot products of the
stored float32 vectors, rounded to float32) and ordered by ``(-score, passage_idx)``.
That total order is the same whatever the shard count, so merging per-shard top-k
lists gives the same global top-k for 1 shard or many.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..devices import pick_device
from ..integrity import verify
from ..io import Progress, atomic_path, read_json
from ..options import SearchOptions
from .vectors import QueryVectors, pair_dot, torch_pair_dot

if TYPE_CHECKING:
    from ..stages.search import SearchJob


def exact_scores(q: np.ndarray, p: np.ndarray, idx: np.ndarray, threads: int = 1) -> np.ndarray:
    """float32(score) of query rows ``q`` against passages ``p[idx]`` computed in float64.

    ``idx`` is (nq, m) of local passage rows, -1 for padding (score -inf). The rows are
    split into ``threads`` contiguous ranges scored on their own threads (NumPy releases
    the GIL), each in steps of a few queries whose float64 copies stay in the CPU cache
    (about 3x faster than large steps). Each row's result does not depend on the split."""
    valid = idx >= 0
    out = np.full(idx.shape, -np.inf, dtype=np.float32)
    step = max(1, 262_144 // max(1, idx.shape[1] * q.shape[1]))

    def score(lo: int, hi: int) -> None:
        for s in range(lo, hi, step):
            e = min(s + step, hi)
            qi = q[s:e].astype(np.float64)
            pi = p[np.where(valid[s:e], idx[s:e], 0)].astype(np.float64)
            out[s:e] = np.where(valid[s:e], pair_dot(qi[:, None, :], pi), -np.inf)

    n_threads = max(1, min(threads, len(q) // (4 * step)))
    if n_threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        bounds = np.linspace(0, len(q), n_threads + 1).astype(np.int64)
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(score, bounds[:-1], bounds[1:]))
    else:
        score(0, len(q))
    return out


def order_candidates(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row by (-score, id), padding (-1) last, and keep the first ``k``."""
    pad = ids < 0
    key_id = np.where(pad, np.iinfo(np.int64).max, ids)
    order = np.lexsort((key_id, -scores.astype(np.float64)), axis=-1)[:, :k]
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(scores, order, axis=1)


def ivf_nlist(n: int, nlist: int | str = "auto") -> int:
    """IVF list count: ``auto`` is sqrt(n), at least 1 and at most n / 39 (faiss wants
    39 training points per list)."""
    if nlist != "auto":
        return max(1, min(int(nlist), n))
    return max(1, min(int(np.sqrt(n)), n // 39))


def ivf_nprobe(n_lists: int, nprobe: int | str = "auto") -> int:
    """Lists searched per query: ``auto`` is 3/8 of the lists, the smallest share that gave
    recall@100 >= 0.98 against the flat index on 205k real MiniLM vectors
    (``benchmarks/bench_ivf.py``, BENCHMARKS.md)."""
    if nprobe != "auto":
        return max(1, min(int(nprobe), n_lists))
    return max(1, min(n_lists, -(-3 * n_lists // 8)))


class FaissIndex:
    """Top-m by inner product on the CPU with faiss: exact (``IndexFlatIP``) or ``ivf``
    (``IndexIVFFlat``, trained on an evenly spaced sample of the shard, searching
    ``nprobe`` lists). Either way the candidates are then rescored exactly."""

    def __init__(self, p: np.ndarray, threads: int, kind: str = "flat", nlist="auto", nprobe="auto"):
        import faiss

        faiss.omp_set_num_threads(max(1, threads))
        d = p.shape[1]
        self._quantizer = None  # an IVF index's coarse quantizer, kept alive with it
        if kind == "ivf" and len(p) >= 2 * 39:
            n_lists = ivf_nlist(len(p), nlist)
            self._quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(self._quantizer, d, n_lists, faiss.METRIC_INNER_PRODUCT)
            train = p[np.linspace(0, len(p) - 1, min(len(p), 64 * n_lists)).astype(np.int64)]
            index.cp.seed = 1234
            index.train(np.ascontiguousarray(train))
            index.nprobe = ivf_nprobe(n_lists, nprobe)
            self.description = f"IndexIVFFlat(nlist={n_lists}, nprobe={index.nprobe})"
        else:
            index = faiss.IndexFlatIP(d)
            self.description = "IndexFlatIP"
        index.add(p)
        self.index = index

    def top(self, q: np.ndarray, m: int) -> np.ndarray:
        return self.index.search(q, m)[1].astype(np.int64)


class TorchFlat:
    """Exact inner-product top-m with torch: a matmul of a query chunk against the whole
    shard, then ``topk``, then the exact float64 rescoring of the m candidates, all on the
    device (:func:`hardneg.search.vectors.torch_pair_dot`, bit for bit NumPy's). The matmul is fp16
    on a GPU (the rescoring fixes the order), float32 on the CPU. ``device="cpu"`` gives the
    same candidate table as faiss."""

    def __init__(self, p: np.ndarray, device: str, threads: int = 1):
        import torch

        self.torch = torch
        if device == "cpu":
            torch.set_num_threads(max(1, threads))
        self.dtype = torch.float16 if device.startswith("cuda") else torch.float32
        self.device = device
        self.p32 = torch.from_numpy(p).to(device=device)
        self.p = self.p32 if self.dtype == torch.float32 else self.p32.to(self.dtype)
        # float64 elements rescored at a time: about 1 GiB on a GPU, 128 MiB on the CPU
        self.step_elems = 2**27 if device.startswith("cuda") else 2**24

    def top(self, q: np.ndarray, m: int) -> np.ndarray:
        return self.top_scored(q, m)[0]

    def top_scored(self, q: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        """(local ids, float32 exact scores) of each query's top ``m`` by the first-stage score."""
        torch = self.torch
        with torch.inference_mode():
            q32 = torch.from_numpy(np.require(q, dtype=np.float32, requirements="CW")).to(self.device)
            idx = torch.topk(q32.to(self.dtype) @ self.p.T, m, dim=1, sorted=True).indices
            scores = torch.empty(idx.shape, dtype=torch.float32, device=self.device)
            step = max(1, self.step_elems // max(1, m * q.shape[1]))
            q64 = q32.double()
            for s in range(0, len(q), step):
                cand = self.p32[idx[s : s + step]].double()
                scores[s : s + step] = torch_pair_dot(q64[s : s + step, None, :], cand).float()
            return idx.cpu().numpy().astype(np.int64), scores.cpu().numpy()


def row_hashes(a: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's bytes: equal rows hash equal (a fixed random linear
    map of the 32-bit words, wrapping mod 2**64)."""
    w = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    mult = np.random.default_rng(0x5EED).integers(1, 2**63, size=w.shape[1], dtype=np.uint64) | np.uint64(1)
    return (w * mult).sum(axis=1, dtype=np.uint64)


def distinct_queries(qm, chunk: int = 4096) -> np.ndarray:
    """For every query row of ``qm`` (a ``QueryVectors``), the row of the first query with
    the same vector (itself when it is the first). Repeated query texts ("Five Stars" on 10%
    of a file) have equal vectors and are searched once; rows are compared byte for byte,
    so a hash collision never merges two different vectors."""
    n = len(qm)
    if not n:
        return np.zeros(0, dtype=np.int64)
    hashes = np.concatenate([row_hashes(qm.take(np.arange(s, min(s + chunk, n)))) for s in range(0, n, chunk)])
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    rep = first[inverse.ravel()].astype(np.int64)
    for s in range(0, n, chunk):
        rows = np.arange(s, min(s + chunk, n))
        dup = rows[rep[rows] != rows]
        if len(dup):
            same = (qm.take(rep[dup]).view(np.uint32) == qm.take(dup).view(np.uint32)).all(axis=1)
            rep[dup[~same]] = dup[~same]
    return rep


def search_shard(
    query_npys,
    passage_npy,
    passage_offset: int,
    outputs,
    options: SearchOptions,
    *,
    logger=None,
    twins=None,
    passage_npys=None,
) -> None:
    """Top-``options.topk`` passages of one shard (``passage_npy``, whose first row is
    passage ``passage_offset``) for every query; ``outputs.ids`` / ``outputs.scores`` hold
    global passage indices and exact scores.

    ``twins`` (``query_twins.npy``, with every passage shard in ``passage_npys``): queries
    whose text is also a passage are searched with that passage's vector.

    ``options.device`` ``cpu`` searches with faiss, anything else (``cuda``, ``cuda:1``, or
    ``torch-cpu`` for the torch path on the CPU) with torch; ``auto`` picks the job's GPU if
    it has one. Either way the over-fetched candidates are rescored exactly and ordered by
    ``(-score, passage_idx)``. ``index`` ``ivf`` (faiss on the CPU only) searches
    approximately, for CPU-only runs at scale."""
    o = options
    topk, chunk, threads, index = o.topk, o.query_chunk, o.threads, o.index
    device = pick_device(o.device)
    p = np.ascontiguousarray(np.load(passage_npy), dtype=np.float32)
    qm = QueryVectors(query_npys, twins, passage_npys)
    n_q = len(qm)
    with atomic_path(outputs.ids) as tmp_ids, atomic_path(outputs.scores) as tmp_sc:
        ids_out = np.lib.format.open_memmap(tmp_ids, mode="w+", dtype=np.int64, shape=(n_q, topk))
        sc_out = np.lib.format.open_memmap(tmp_sc, mode="w+", dtype=np.float32, shape=(n_q, topk))
        ids_out[:] = -1
        sc_out[:] = -np.inf
        rep = distinct_queries(qm, chunk) if len(p) else np.arange(n_q)
        is_first = rep == np.arange(n_q)
        firsts = np.flatnonzero(is_first)
        progress = Progress(logger, f"search vs {len(p)} passages", total=len(firsts), unit="queries")
        if len(p):
            if device == "cpu" or index == "ivf":
                searcher = FaissIndex(p, threads, index, o.nlist, o.nprobe)
                what = f"faiss {searcher.description} on the CPU"
            else:
                searcher = TorchFlat(p, "cpu" if device == "torch-cpu" else device, threads)
                what = f"torch {searcher.dtype} on {searcher.device}"
            if logger:
                logger.info("searching %d passages with %s", len(p), what)
                logger.info("%d distinct query vectors among %d queries", len(firsts), n_q)
            m = min(topk + o.overfetch, len(p))
            for s in range(0, len(firsts), chunk):
                rows = firsts[s : s + chunk]
                q = qm.take(rows)
                if isinstance(searcher, TorchFlat):
                    local, sc = searcher.top_scored(q, m)
                else:
                    local = searcher.top(q, m)
                    sc = exact_scores(q, p, local, threads)
                glob = np.where(local >= 0, local + passage_offset, -1)
                ids, scs = order_candidates(glob, sc, topk)
                ids_out[rows, : ids.shape[1]] = ids
                sc_out[rows, : ids.shape[1]] = scs
                progress.update(s + len(rows))
            # repeated queries get their first occurrence's rows
            dups = np.flatnonzero(~is_first)
            for s in range(0, len(dups), chunk):
                rows = dups[s : s + chunk]
                ids_out[rows] = ids_out[rep[rows]]
                sc_out[rows] = sc_out[rep[rows]]
        ids_out.flush()
        sc_out.flush()
        del ids_out, sc_out
        progress.finish()


def run(inputs, outputs, job: SearchJob, logger=None) -> None:
    """Search ``inputs.passages`` (this shard's vectors; ``inputs.stats`` is its embed stats,
    which give its first row) with every query shard ``inputs.queries``."""
    verify([*inputs.queries, inputs.passages], list(inputs.all_stats), dataset=job.dataset, logger=logger)
    offset = read_json(inputs.stats)["passages"]["first_row"]
    search_shard(
        list(inputs.queries),
        inputs.passages,
        offset,
        outputs,
        replace(job.search, threads=job.threads),
        logger=logger,
        twins=inputs.twins if job.share_twins else None,
        passage_npys=list(inputs.all_passages),
    )
