"""Sharding math and shard-count independence of search + merge, on real faiss."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from stages import merge_shards, search_files

from hardneg.encode.embed import shard_bounds


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


def _candidates(tmp_path, vectors, n_shards, block, topk, tag, **kw):
    q, p = vectors
    qf = tmp_path / f"{tag}_q.npy"
    np.save(qf, q)
    ids, scs = [], []
    for s in range(n_shards):
        a, b = shard_bounds(len(p), s, n_shards, block)
        pf = tmp_path / f"{tag}_p{s}.npy"
        np.save(pf, p[a:b])
        ids.append(tmp_path / f"{tag}_ids{s}.npy")
        scs.append(tmp_path / f"{tag}_sc{s}.npy")
        search_files([qf], pf, a, ids[-1], scs[-1], topk=topk, query_chunk=7, **kw)
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
    one = _candidates(tmp_path, (q, p), 1, 8, 40, "one")
    three = _candidates(tmp_path, (q, p), 3, 8, 40, "three")
    five = _candidates(tmp_path, (q, p), 5, 8, 40, "five")
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
    cand = pq.read_table(_candidates(tmp_path, (q, p), 3, 2, 50, "small"))
    assert cand.num_rows == 4 * 12  # every passage once per query, no padding rows
    assert cand.column("rank").to_pylist()[:12] == list(range(12))


def test_torch_search_equals_faiss_candidate_table(tmp_path):
    """The GPU path (torch matmul + topk) run on the CPU: the same candidate table as
    faiss-cpu, byte for byte, also with exact duplicates and several shards."""
    rng = np.random.default_rng(4)
    p = _vectors(rng, 500, 32)
    p[70] = p[20]
    q = _vectors(rng, 41, 32)
    q[5] = p[20]
    for shards in (1, 3):
        faiss_t = pq.read_table(_candidates(tmp_path, (q, p), shards, 16, 60, f"faiss{shards}"))
        torch_t = pq.read_table(_candidates(tmp_path, (q, p), shards, 16, 60, f"torch{shards}", device="torch-cpu"))
        assert faiss_t.equals(torch_t)
        assert faiss_t.num_rows == 41 * 60


def test_threaded_exact_rescoring_is_identical():
    from hardneg.search.search import exact_scores

    rng = np.random.default_rng(5)
    p, q = _vectors(rng, 400, 24), _vectors(rng, 3000, 24)
    idx = rng.integers(-1, 400, size=(3000, 50))
    one = exact_scores(q, p, idx, threads=1)
    four = exact_scores(q, p, idx, threads=4)
    assert np.array_equal(one, four)
    assert np.isneginf(one[idx < 0]).all()


def test_ivf_index_finds_nearly_all_of_the_exact_top_k(tmp_path):
    """IVF (approximate first stage) with the same exact rescoring: recall@50 against the
    flat index is high on clustered data, and every returned score is exact."""
    from hardneg.search.search import ivf_nlist, ivf_nprobe

    rng = np.random.default_rng(6)
    centers = _vectors(rng, 40, 32)
    p = centers[rng.integers(0, 40, 6000)] + 0.08 * rng.normal(size=(6000, 32)).astype(np.float32)
    p = (p / np.linalg.norm(p, axis=1, keepdims=True)).astype(np.float32)
    q = p[rng.choice(6000, 200, replace=False)] + 0.05 * rng.normal(size=(200, 32)).astype(np.float32)
    q = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    flat = pq.read_table(_candidates(tmp_path, (q, p), 1, 64, 50, "flat")).to_pandas()
    ivf = pq.read_table(_candidates(tmp_path, (q, p), 1, 64, 50, "ivf", index="ivf", nprobe=16)).to_pandas()
    assert ivf_nlist(6000) == 77
    assert ivf_nprobe(452) == 170 and ivf_nprobe(1) == 1  # auto: 3/8 of the lists, rounded up
    assert ivf_nprobe(452, 32) == 32 and ivf_nprobe(10, 50) == 10
    hits = sum(
        len(set(a.passage_idx) & set(b.passage_idx))
        for (_, a), (_, b) in zip(flat.groupby("query_idx"), ivf.groupby("query_idx"), strict=True)
    )
    assert hits / len(flat) > 0.95
    exact = (q.astype(np.float64) @ p.astype(np.float64).T).astype(np.float32)
    assert np.array_equal(ivf.score.to_numpy(), exact[ivf.query_idx, ivf.passage_idx])


def test_repeated_queries_are_searched_once_with_identical_rows(tmp_path):
    rng = np.random.default_rng(7)
    p = _vectors(rng, 200, 16)
    base = _vectors(rng, 5, 16)
    q = base[rng.integers(0, 5, 60)]  # 60 rows, 5 distinct vectors
    t = pq.read_table(_candidates(tmp_path, (q, p), 2, 8, 30, "dup")).to_pandas()
    by_q = {k: g[["rank", "passage_idx", "score"]].to_numpy().tolist() for k, g in t.groupby("query_idx")}
    for i in range(60):
        first = int(np.flatnonzero((q == q[i]).all(axis=1))[0])
        assert by_q[i] == by_q[first]
    exact = (q.astype(np.float64) @ p.astype(np.float64).T)[11]
    want = sorted(range(200), key=lambda j: (-np.float32(exact[j]), j))[:30]
    assert [int(x[1]) for x in by_q[11]] == want


def test_repeats_across_chunks_are_found_and_hash_collisions_never_merge(tmp_path, monkeypatch):
    """Repeated query vectors anywhere in the file (not only within one chunk) map to their
    first row; with every hash forced equal, the byte comparison keeps distinct vectors
    apart and the candidate table is unchanged."""
    import hardneg.search.search as search
    from hardneg.search.vectors import QueryVectors

    rng = np.random.default_rng(8)
    p = _vectors(rng, 150, 16)
    base = _vectors(rng, 9, 16)
    q = base[rng.integers(0, 9, 50)]
    qf = tmp_path / "q.npy"
    np.save(qf, q)
    rep = search.distinct_queries(QueryVectors([qf]), chunk=4)
    for i in range(50):
        assert rep[i] == int(np.flatnonzero((q == q[i]).all(axis=1))[0])
    normal = pq.read_table(_candidates(tmp_path, (q, p), 2, 8, 20, "normal"))
    monkeypatch.setattr(search, "row_hashes", lambda a: np.zeros(len(a), dtype=np.uint64))
    collided = search.distinct_queries(QueryVectors([qf]), chunk=4)
    assert all((q[collided[i]] == q[i]).all() for i in range(50))
    assert (collided == np.arange(50)).sum() > 9  # distinct vectors stay apart
    assert pq.read_table(_candidates(tmp_path, (q, p), 2, 8, 20, "collide")).equals(normal)


def test_twin_queries_search_and_score_with_their_passage_vector(tmp_path):
    """Queries whose text is also a passage are not encoded (zero rows); search and the
    positive scores read the twin passage's vector, so the tables equal those made from
    query files holding that vector."""
    from hardneg.search.merge import positive_scores

    rng = np.random.default_rng(9)
    p = _vectors(rng, 120, 16)
    q = _vectors(rng, 30, 16)
    twins = np.full(30, -1, dtype=np.int64)
    twins[[2, 5, 6, 29]] = [7, 100, 7, 0]
    full = q.copy()
    full[twins >= 0] = p[twins[twins >= 0]]
    holes = q.copy()
    holes[twins >= 0] = 0.0
    shards = [shard_bounds(len(p), s, 3, 8) for s in range(3)]
    pfiles = []
    for s, (a, b) in enumerate(shards):
        pfiles.append(tmp_path / f"p{s}.npy")
        np.save(pfiles[-1], p[a:b])
    tables = {}
    for tag, qv, tw in (("full", full, None), ("twins", holes, twins)):
        qf = tmp_path / f"{tag}_q.npy"
        np.save(qf, qv)
        ids, scs = [], []
        for s, (a, _) in enumerate(shards):
            ids.append(tmp_path / f"{tag}_ids{s}.npy")
            scs.append(tmp_path / f"{tag}_sc{s}.npy")
            search_files([qf], pfiles[s], a, ids[-1], scs[-1], topk=25, query_chunk=7, twins=tw, passage_npys=pfiles)
        merge_shards(ids, scs, 25, tmp_path / f"{tag}.parquet")
        qrels = tmp_path / "qrels.parquet"
        pq.write_table(pq.read_table(tmp_path / f"{tag}.parquet").select(["query_idx", "passage_idx"]), qrels)
        positive_scores([qf], pfiles, qrels, tmp_path / f"{tag}_pos.parquet", twins=tw)
        tables[tag] = (pq.read_table(tmp_path / f"{tag}.parquet"), pq.read_table(tmp_path / f"{tag}_pos.parquet"))
    assert tables["full"][0].equals(tables["twins"][0])
    assert tables["full"][1].equals(tables["twins"][1])
    cand = tables["twins"][0].to_pandas()
    assert cand[(cand.query_idx == 2) & (cand["rank"] == 0)].passage_idx.item() == 7  # itself, score 1
