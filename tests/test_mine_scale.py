"""Mining on real-shaped data: the original's _sample_hn, groups of identical query
texts (linear, exclusion across the group), and the streamed writer's bytes."""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter, defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stages import Files, mine_dataset, prepare_dataset, select_negatives

from hardneg.io import Progress
from hardneg.mining import mine
from hardneg.mining.mine import Miner
from hardneg.mining.select import REASONS
from hardneg.options import PRESETS, MiningOptions
from hardneg.search.candidates import CANDIDATE_SCHEMA, POSITIVE_SCHEMA
from hardneg.stages.mine import MineJob

# these tables come without vectors: percpos95 less its passage-passage filter
PERCPOS95_WITHOUT_VECTORS = {**PRESETS["percpos95"], "max_positive_similarity": None}


def original_sample_hn(ranked_ids: list[int], positives: set[int], depth=(2, 100), n_sample=16, rng=None):
    """tDRO build_train_hn_dp.py's selection, ported: raw ranks depth[0]..depth[1]-1 of
    the retrieved list, minus positives and -1 padding; random.sample when over-full."""
    cands = [i for i in ranked_ids[depth[0] : depth[1]] if i not in positives and i != -1]
    if len(cands) > n_sample:
        return (rng or random).sample(cands, n_sample)
    return cands


@pytest.mark.parametrize("trial", range(40))
def test_seed_preset_matches_the_original_sample_hn(trial):
    rng = random.Random(trial)
    n_cand = rng.choice([5, 18, 40, 100])
    ids = rng.sample(range(100_000), n_cand)
    scores = sorted((rng.uniform(-0.1, 0.9) for _ in ids), reverse=True)
    texts = [f"passage {i}" for i in ids]  # distinct texts: exclusion by id alone, as the original
    positives = set(rng.sample(ids[: min(30, n_cand)], rng.randint(0, 3)))
    cands = original_sample_hn(ids, positives, n_sample=10**9)  # the original's pool, in rank order
    seed = MiningOptions(**PRESETS["seed"])
    removed = Counter()
    chosen = select_negatives((f"train-{trial}", "q"), (ids, scores, texts), (positives, set(), None), seed, removed)
    got = [ids[c] for c in chosen]
    if len(cands) <= 16:
        assert got == cands  # no sampling: every candidate, in rank order, as the original
    else:
        assert len(got) == 16 and len(set(got)) == 16 and set(got) <= set(cands)
    assert removed["not_sampled"] == max(0, len(cands) - 16)
    # the whole pool, in rank order, is what "top" with room for everything returns
    top_all = MiningOptions(**{**PRESETS["seed"], "sampling_strategy": "top", "num_negatives": 98})
    pool = select_negatives(("q", "q"), (ids, scores, texts), (positives, set(), None), top_all, Counter())
    assert [ids[c] for c in pool] == cands


def test_random_sampling_is_uniform_over_the_pool():
    """Each pool member is chosen with probability n/len(pool) (over many query ids)."""
    ids = list(range(100))
    scores = [1 - i / 100 for i in ids]
    opts = MiningOptions(**PRESETS["seed"])
    hits = Counter()
    for q in range(3000):
        for c in select_negatives(
            (f"q{q}", "x"), (ids, scores, [str(i) for i in ids]), (set(), set(), None), opts, Counter()
        ):
            hits[c] += 1
    freq = np.array([hits[i] for i in range(2, 100)]) / 3000
    assert set(hits) <= set(range(2, 100))
    assert abs(freq.mean() - 16 / 98) < 1e-9  # exactly 16 per query
    assert freq.min() > 0.12 and freq.max() < 0.21  # 16/98 = 0.163, binomial spread ~0.007


def _tables(tmp_path, qtexts, positives, passages, cands):
    """Hand-made prepared tables and candidate table. cands: {q: [(pid, score), ...]}"""
    qp, pp, cp, sp = (tmp_path / f"{n}.parquet" for n in ("queries", "passages", "cand", "pos"))
    pq.write_table(pa.table({"query_id": [f"train-{i}" for i in range(len(qtexts))], "text": qtexts}), qp)
    pq.write_table(
        pa.table({"docid": [str(i) for i in range(len(passages))], "title": [""] * len(passages), "text": passages}), pp
    )
    rows = [(q, r, p, s) for q in sorted(cands) for r, (p, s) in enumerate(cands[q])]
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    pq.write_table(pa.table([pa.array(c) for c in cols], schema=CANDIDATE_SCHEMA), cp, row_group_size=7)
    prow = [(q, p, 0.9) for q, ps in enumerate(positives) for p in ps]
    pq.write_table(pa.table([pa.array(c) for c in zip(*prow, strict=True)], schema=POSITIVE_SCHEMA), sp)
    return qp, pp, cp, sp


def test_grouping_excludes_every_positive_of_the_same_query_text(tmp_path):
    """Rows 0, 2 and 4 share a query text; each has its own positive. None of them may get
    another's positive as a negative, and the exclusion set stays linear in the rows."""
    passages = [f"text {i}" for i in range(12)]
    qtexts = ["same", "other", "same", "third", "same"]
    positives = [[0], [1], [2], [3], [4]]
    everything = [(p, 0.5 - p / 100) for p in range(12)]
    cands = {q: list(everything) for q in range(5)}
    qp, pp, cp, sp = _tables(tmp_path, qtexts, positives, passages, cands)
    opts = MiningOptions(
        range_min=0, range_max=12, num_negatives=12, sampling_strategy="top", group_identical_queries=True
    )
    out = tmp_path / "o.jsonl"
    stats = mine_dataset((qp, pp), (cp, sp), out, tmp_path / "s.json", opts)
    recs = [json.loads(line) for line in out.open()]
    negs = {r["query_id"]: {n["docid"] for n in r["negative_passages"]} for r in recs}
    for q in ("train-0", "train-2", "train-4"):
        assert not negs[q] & {"0", "2", "4"}, negs[q]
        assert {"1", "3"} <= negs[q]
    assert "0" in negs["train-1"] and "1" not in negs["train-1"]
    assert stats["removed"]["positive_id"] == 3 * 3 + 1 + 1
    miner = Miner(Files(queries=qp, passages=pp, positive_scores=sp, candidates=cp), opts, tmp_path)
    assert len(miner.excl_id) == 5  # one key per (group, positive): linear in rows


def test_a_query_text_repeated_many_times_is_linear(tmp_path):
    """20,000 rows with one query text and a positive each: every row excludes all
    20,000 pooled positives through one group, with 20,000 keys (not 20,000^2)."""
    n = 20_000
    passages = [f"answer number {i}" for i in range(n)]
    qtexts = ["Five Stars"] * n
    positives = [[i] for i in range(n)]
    cands = {q: [((q + k) % n, 0.9 - k / 1000) for k in range(30)] for q in range(0, n, 97)}
    qp, pp, cp, sp = _tables(tmp_path, qtexts, positives, passages, cands)
    opts = MiningOptions(**PERCPOS95_WITHOUT_VECTORS)
    miner = Miner(Files(queries=qp, passages=pp, positive_scores=sp, candidates=cp), opts, tmp_path)
    assert len(miner.excl_id) == n and len(set(miner.group.tolist())) == 1
    stats = mine_dataset((qp, pp), (cp, sp), tmp_path / "o.jsonl", tmp_path / "s.json", opts)
    # every candidate is some row's positive, so all are excluded for the group
    assert stats["negatives_kept"] == 0
    assert stats["removed"]["positive_id"] == stats["candidates_considered"] == 30 * len(cands)


def test_streamed_output_equals_json_dumps(tmp_path):
    """Records are assembled from escaped fragments; they must be json.dumps' bytes,
    for awkward text too (quotes, backslashes, newlines, non-ASCII, emoji)."""
    passages = ['say "hi"\\n', "tab\there\nnewline", "caf\u00e9 \U0001f600", "plain", "\u2028sep", "x"]
    qtexts = ['q "one"', "q\\two"]
    positives = [[0], [1]]
    cands = {0: [(p, 0.8 - p / 10) for p in range(6)], 1: [(p, 0.7 - p / 10) for p in range(6)]}
    qp, pp, cp, sp = _tables(tmp_path, qtexts, positives, passages, cands)
    for fmt, scores in (("tevatron", False), ("tevatron", True), ("flagembedding", True)):
        opts = MiningOptions(
            range_min=0, range_max=6, num_negatives=4, sampling_strategy="top", output_format=fmt, output_scores=scores
        )
        out = tmp_path / f"{fmt}{scores}.jsonl"
        mine_dataset((qp, pp), (cp, sp), out, tmp_path / "s.json", opts)
        for line in out.read_text(encoding="utf-8").split("\n")[:-1]:
            assert line == json.dumps(json.loads(line), ensure_ascii=False)
        first = json.loads(out.read_text(encoding="utf-8").split("\n")[0])
        if fmt == "tevatron":
            assert [n["text"] for n in first["negative_passages"]] == passages[1:5]
            assert ("score" in first["negative_passages"][0]) == scores


def test_mine_stats_account_and_histograms(tmp_path):
    passages = [f"p{i}" for i in range(40)]
    qtexts = [f"q{i}" for i in range(10)]
    positives = [[i] for i in range(10)]
    cands = {q: [(p, 0.95 - p / 50) for p in range(40)] for q in range(0, 10, 2)}  # odd queries: none
    qp, pp, cp, sp = _tables(tmp_path, qtexts, positives, passages, cands)
    stats = mine_dataset(
        (qp, pp), (cp, sp), tmp_path / "o.jsonl", tmp_path / "s.json", MiningOptions(**PRESETS["seed"])
    )
    assert stats["queries_written"] == 5 and stats["queries_without_negatives"] == 5
    assert stats["negatives_kept"] + sum(stats["removed"].values()) == stats["candidates_considered"]
    assert set(stats["removed"]) == set(REASONS)
    h = stats["score_histograms"]
    assert sum(h["negatives"]["counts"]) == stats["negatives_written"] == 80
    assert sum(h["candidates"]["counts"]) == stats["candidates_considered"] == 200
    assert sum(h["positives"]["counts"]) == 10
    assert sum(stats["negative_ranks"]) == 80 and stats["negative_ranks"][:2] == [0, 0]
    assert stats["negative_scores"]["count"] == 80


def test_prepare_then_mine_on_degenerate_real_shaped_rows(tmp_path):
    """Empty queries, blank positives and one query text on many rows, through the real
    prepare: dropped rows are counted, and grouped rows never get a sibling's positive."""
    rng = random.Random(3)
    lines = []
    for i in range(400):
        u = rng.random()
        q = "Five Stars" if u < 0.3 else ("" if u < 0.35 else f"question {i % 150}")
        lines.append([q, "" if rng.random() < 0.02 else f"answer {i} about {rng.choice(['cats', 'dogs', 'tax'])}"])
    raw = tmp_path / "r.jsonl.gz"
    with gzip.open(raw, "wt") as fh:
        fh.writelines(json.dumps(x) + "\n" for x in lines)
    t = {k: tmp_path / f"{k}.parquet" for k in ("q", "p", "r")}
    st = prepare_dataset("pairs", raw, (t["q"], t["p"], t["r"]), tmp_path / "ps.json", dataset="d", max_bad_rows=0)
    assert st["dropped"]["empty_query"] == sum(1 for q, _ in lines if q == "")
    assert st["dropped"]["no_positive"] == sum(1 for q, p in lines if q and not p)
    assert st["bad_rows_skipped"] == {}
    # candidates: every passage for every query, in a fixed order
    nq, npas = pq.read_metadata(t["q"]).num_rows, pq.read_metadata(t["p"]).num_rows
    qi = np.repeat(np.arange(nq), npas)
    pi = np.tile(np.arange(npas), nq)
    sc = np.tile(np.linspace(0.9, 0.1, npas, dtype=np.float32), nq)
    rk = np.tile(np.arange(npas, dtype=np.int32), nq)
    pq.write_table(
        pa.table([qi, rk, pi, sc], schema=CANDIDATE_SCHEMA), tmp_path / "c.parquet", row_group_size=npas * 64
    )
    r = pq.read_table(t["r"])
    pq.write_table(
        pa.table(
            [r.column("query_idx"), r.column("passage_idx"), pa.array(np.full(r.num_rows, 0.95, dtype=np.float32))],
            schema=POSITIVE_SCHEMA,
        ),
        tmp_path / "pos.parquet",
    )
    opts = MiningOptions(**{**PERCPOS95_WITHOUT_VECTORS, "range_max": npas, "num_negatives": 30})
    mine_dataset(
        (t["q"], t["p"]),
        (tmp_path / "c.parquet", tmp_path / "pos.parquet"),
        tmp_path / "o.jsonl",
        tmp_path / "s.json",
        opts,
    )
    by_text = defaultdict(set)
    recs = [json.loads(line) for line in (tmp_path / "o.jsonl").open()]
    for rec in recs:
        by_text[rec["query"]] |= {p["docid"] for p in rec["positive_passages"]}
    assert len(by_text["Five Stars"]) > 50
    for rec in recs:
        assert not {n["docid"] for n in rec["negative_passages"]} & by_text[rec["query"]]


def test_progress_line_has_elapsed_rate_and_eta():
    p = Progress(None, "mine", total=200, unit="queries")
    p.done = 50
    line = p.line(now=p.start + 10)
    assert line == "mine: 50/200 queries (25.0%), elapsed 0m10s, 5 queries/s, ETA 0m30s"
    p2 = Progress(None, "prepare", unit="rows")
    p2.done = 1000
    assert p2.line(fraction=0.5, now=p2.start + 3600).endswith("elapsed 1h00m00s, 0 rows/s, ETA 1h00m00s")


@pytest.mark.parametrize("preset", ["seed", "percpos95"])
def test_two_threads_write_the_same_file_stats_and_sample_as_one(tmp_path, preset):
    """The mine job's second thread decides the next runs while one is written: the bytes
    of every output are those of one thread (runs of 7 candidate rows; repeated query texts;
    queries with more positives than a group's direct comparisons)."""
    rng = random.Random(5)
    passages = [f"passage {i} about {rng.choice(['cats', 'ships', 'tea'])}" for i in range(150)]
    qtexts = [f"question {rng.randrange(200)}" for _ in range(300)]
    positives = [rng.sample(range(150), rng.choice([1, 1, 2, 3, 12])) for _ in qtexts]
    cands = {q: [(p, 0.9 - k / 40) for k, p in enumerate(rng.sample(range(150), 30))] for q in range(0, 300, 3)}
    qp, pp, cp, sp = _tables(tmp_path, qtexts, positives, passages, cands)
    opts = MiningOptions(**{**PRESETS[preset], "max_positive_similarity": None})
    inputs = Files(queries=qp, passages=pp, candidates=cp, positive_scores=sp, cache_stats=[])
    got = {}
    for threads in (1, 2):
        out = {k: tmp_path / f"{threads}.{k}" for k in ("mined", "stats", "sample")}
        mine.run(inputs, Files(**out), MineJob(dataset="d", mining=opts, threads=threads))
        got[threads] = [out[k].read_bytes() for k in ("mined", "stats", "sample")]
    assert got[1] == got[2] and got[1][0].count(b"\n") > 50


def test_the_passage_store_keeps_derived_columns_whole_and_refuses_a_null(tmp_path):
    from hardneg.data.textstore import TextStore

    pp = tmp_path / "passages.parquet"
    pq.write_table(pa.table({"docid": ["a", "b", "c"], "title": ["", "T", ""], "text": ["x", "y", "z"]}), pp)
    cols = ["docid", "title", "text"]
    store = TextStore(pp, tmp_path, cols, batch_rows=2, derived={"t": lambda b: b.column("text")}, stored=False)
    assert store.take_derived("t", np.array([2, 0, 2, 1])).to_pylist() == ["z", "x", "z", "y"]
    assert store.columns == []
    second_null = {"t": lambda b: pa.array(["x", "y"] if b.num_rows == 2 else [None], pa.string())}
    with pytest.raises(ValueError, match="passages: a null t at row 2"):
        TextStore(pp, tmp_path, cols, batch_rows=2, derived=second_null)
