"""Sharding math and shard-count independence of search + merge, on real faiss."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from hnm.embed import shard_bounds
from hnm.search import merge_shards, search_shard


@pytest.mark.parametrize("n_rows, n_shards, block", [(0, 3, 4), (10, 3, 4), (100, 7, 8), (5, 4, 1), (64, 2, 32)])
def test_shards_are_whole_blocks_covering_all_rows(n_rows, n_shards, block):
    bounds = [shard_bounds(n_rows, s, n_shards, block) for s in range(n_shards)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n_rows
    for (a0, a1), (b0, _) in zip(bounds, bounds[1:], strict=False):
        assert a1 == b0 and a0 <= a1
    for a0, _ in bounds:
        assert a0 % block == 0 or a0 == n_rows


def _vectors(rng, n, d):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _candidates(tmp_path, q, p, n_shards, block, topk, tag):
    qf = tmp_path / f"{tag}_q.npy"
    np.save(qf, q)
    ids, scs = [], []
    for s in range(n_shards):
        a, b = shard_bounds(len(p), s, n_shards, block)
        pf = tmp_path / f"{tag}_p{s}.npy"
        np.save(pf, p[a:b])
        ids.append(tmp_path / f"{tag}_ids{s}.npy")
        scs.append(tmp_path / f"{tag}_sc{s}.npy")
        search_shard([qf], pf, a, topk, ids[-1], scs[-1], chunk=7)
    out = tmp_path / f"{tag}_cand.parquet"
    merge_shards(ids, scs, topk, out, chunk=5)
    return out


def test_merge_of_shards_equals_single_shard_bytewise(tmp_path):
    rng = np.random.default_rng(0)
    p = _vectors(rng, 300, 16)
    p[50] = p[10]  # exact duplicates: ties broken by passage index
    p[250] = p[10]
    q = _vectors(rng, 23, 16)
    q[3] = p[10]
    one = _candidates(tmp_path, q, p, 1, 8, 40, "one")
    three = _candidates(tmp_path, q, p, 3, 8, 40, "three")
    five = _candidates(tmp_path, q, p, 5, 8, 40, "five")
    t1 = pq.read_table(one)
    assert t1.equals(pq.read_table(three)) and t1.equals(pq.read_table(five))
    # and it is the exact top-40 by (score desc, index asc)
    rows = t1.filter(pq.read_table(one).column("query_idx").to_numpy() == 3).to_pylist()
    assert [r["passage_idx"] for r in rows[:3]] == [10, 50, 250]
    exact = (q.astype(np.float64) @ p.astype(np.float64).T)[7]
    want = sorted(range(300), key=lambda i: (-np.float32(exact[i]), i))[:40]
    got = [r["passage_idx"] for r in t1.to_pylist() if r["query_idx"] == 7]
    assert got == want


def test_shard_smaller_than_topk_pads_and_merges(tmp_path):
    rng = np.random.default_rng(1)
    p, q = _vectors(rng, 12, 8), _vectors(rng, 4, 8)
    cand = pq.read_table(_candidates(tmp_path, q, p, 3, 2, 50, "small"))
    assert cand.num_rows == 4 * 12  # every passage once per query, no padding rows
    assert cand.column("rank").to_pylist()[:12] == list(range(12))
