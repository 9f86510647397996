"""The examples page of one dataset: mined rows a person can check by eye.

- A fixed, seeded sample of ``SAMPLE`` rows of the mined file: the query, its positives and
  its negatives, each passage with its rank among the query's candidates, its score with
  the query (bi-encoder, from the embedding cache), its cosine to the closest positive and,
  when a cross-encoder rescored the candidates, the judge's score.
- The ``SUSPICIOUS`` negatives closest to their own positive (by cosine, and by the judge's
  score above the query's lowest positive), over a seeded sample of at most ``SCAN`` rows.

Any output format is read (a reader per format); passages and queries are found by their
text's hash, so no docid is needed. Texts are HTML-escaped, long ones folded into a
``<details>`` element; the page has no script and loads nothing.
"""

from __future__ import annotations

import html

import numpy as np
import pyarrow.parquet as pq

from .candidates import read_positive_scores
from .formats import read_mined
from .integrity import verify_tables
from .io import atomic_path, read_json
from .jobs import ExamplesJob
from .near_copies import PositiveSimilarity
from .select import sample_keys
from .texts import table_hashes
from .textstore import HashIndex, joined_text
from .vectors import QueryVectors, ShardedMatrix, pair_dot

SAMPLE = 20
SUSPICIOUS = 20
SCAN = 20_000
FOLD = 300  # characters shown before a text folds


def candidate_info(path, pairs: set) -> dict:
    """{(query row, passage row): (rank, score)} of the candidate table, for ``pairs``."""
    out = {}
    queries = np.array(sorted({q for q, _ in pairs}), dtype=np.int64)
    pf = pq.ParquetFile(path)
    for rg in range(pf.num_row_groups):
        t = pf.read_row_group(rg)
        qi = t.column("query_idx").to_numpy()
        hit = np.flatnonzero(np.isin(qi, queries))
        if not len(hit):
            continue
        pi, rank, score = (t.column(c).to_numpy()[hit] for c in ("passage_idx", "rank", "score"))
        for q, p, r, s in zip(qi[hit].tolist(), pi.tolist(), rank.tolist(), score.tolist(), strict=True):
            if (q, p) in pairs:
                out[(q, p)] = (r, s)
    return out


def picked(n_rows: int, seed: int, k: int) -> np.ndarray:
    """The ``k`` rows of lowest seeded key: a fixed sample of any file size."""
    keys = sample_keys(np.full(n_rows, seed, dtype=np.uint64), np.arange(n_rows, dtype=np.int64))
    return np.sort(np.argsort(keys, kind="stable")[:k])


def collect(inputs, job: ExamplesJob, n_rows: int) -> tuple[list[dict], list[dict]]:
    """The sample rows and the suspicious negatives, each passage with its numbers; only
    the rows they need are kept while the file streams by."""
    scan = set(picked(n_rows, job.seed, SCAN).tolist())
    sample = set(picked(n_rows, job.seed + 1, SAMPLE).tolist())
    rows = {i: r for i, r in enumerate(read_mined(inputs.mined, job.output_format)) if i in scan or i in sample}
    queries = HashIndex(table_hashes(inputs.queries, ["text"], lambda b: b.column("text").to_pylist()))
    passages = HashIndex(table_hashes(inputs.passages, ["title", "text"], lambda b: joined_text(b).to_pylist()))
    entries = []
    for i in sorted(rows):
        q, pos, neg = rows[i]
        qrow = int(queries.find([q])[0])
        prow, nrow = passages.find(pos), passages.find(neg)
        entries.append({"row": i, "query": q, "qrow": qrow, "pos": pos, "neg": neg, "prow": prow, "nrow": nrow})
    pairs = {(e["qrow"], int(p)) for e in entries for p in e["nrow"]}
    info = candidate_info(inputs.candidates, pairs) if pairs else {}
    pos_q, pos_p, pos_s = read_positive_scores(inputs.positive_scores)
    pos_score = dict(zip(zip(pos_q.tolist(), pos_p.tolist(), strict=True), pos_s.tolist(), strict=True))
    pvec = ShardedMatrix(list(inputs.passage_vectors))
    qvec = QueryVectors(list(inputs.query_vectors), inputs.twins, list(inputs.passage_vectors))
    # each negative's cosine to its row's closest positive, as the near-copy filter computes
    # it for a query's candidates: each entry's positives are one run, all negatives at once
    none = np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum([len(e["prow"]) for e in entries])]).astype(np.int64)
    near = PositiveSimilarity(
        list(inputs.passage_vectors), np.concatenate([e["prow"] for e in entries] + [none]), starts
    )
    owner = np.concatenate([np.full(len(e["nrow"]), k, dtype=np.int64) for k, e in enumerate(entries)] + [none])
    closest = near.highest(owner, np.concatenate([e["nrow"] for e in entries] + [none]))
    ends = np.cumsum([len(e["nrow"]) for e in entries]).tolist()
    suspects = []
    for k, e in enumerate(entries):
        qv = qvec.take(np.array([e["qrow"]]))[0].astype(np.float64)
        pv, nv = pvec.take(e["prow"]).astype(np.float64), pvec.take(e["nrow"]).astype(np.float64)
        mine = closest[ends[k] - len(e["nrow"]) : ends[k]]
        e["pos_info"] = [
            {
                "text": t,
                "score": float(pair_dot(qv, v)),
                "judge": pos_score.get((e["qrow"], int(p))) if job.judge else None,
            }
            for t, v, p in zip(e["pos"], pv, e["prow"], strict=True)
        ]
        low = min((p["judge"] for p in e["pos_info"] if p["judge"] is not None), default=None)
        e["neg_info"] = []
        for t, v, p, c in zip(e["neg"], nv, e["nrow"], mine.tolist(), strict=True):
            rank, cand_score = info.get((e["qrow"], int(p)), (None, None))
            n = {
                "text": t,
                "rank": rank,
                "score": float(pair_dot(qv, v)),
                "similarity": c if len(pv) else None,
                "judge": cand_score if job.judge else None,
            }
            n["judge_gap"] = None if n["judge"] is None or low is None else n["judge"] - low
            e["neg_info"].append(n)
            suspects.append({**n, "row": e["row"], "query": e["query"], "positive": e["pos"][0] if e["pos"] else ""})
    sample_rows = [e for e in entries if e["row"] in sample]
    by_sim = sorted((s for s in suspects if s["similarity"] is not None), key=lambda s: (-s["similarity"], s["row"]))
    top = by_sim[:SUSPICIOUS]
    if job.judge:
        by_judge = sorted(
            (s for s in suspects if s["judge_gap"] is not None), key=lambda s: (-s["judge_gap"], s["row"])
        )
        top += [s for s in by_judge[:SUSPICIOUS] if s not in top]
    return sample_rows, top


def _text(t: str) -> str:
    if len(t) <= FOLD:
        return html.escape(t)
    return f"<details><summary>{html.escape(t[:FOLD])}…</summary>{html.escape(t)}</details>"


def _num(v, fmt=".4f") -> str:
    return "–" if v is None else format(v, fmt)


def page(dataset: str, stats: dict, sample_rows: list[dict], suspects: list[dict], judge: bool) -> str:
    head = "<th>rank</th><th>score</th><th>cosine to positive</th>" + ("<th>judge</th>" if judge else "")
    blocks = []
    for e in sample_rows:
        trs = [
            f"<tr class='pos'><td>positive</td><td>–</td><td>{_num(p['score'])}</td><td>–</td>"
            + (f"<td>{_num(p['judge'])}</td>" if judge else "")
            + f"<td class='t'>{_text(p['text'])}</td></tr>"
            for p in e["pos_info"]
        ]
        trs += [
            f"<tr class='neg'><td>negative</td><td>{_num(n['rank'], 'd')}</td><td>{_num(n['score'])}</td>"
            f"<td>{_num(n['similarity'])}</td>"
            + (f"<td>{_num(n['judge'])}</td>" if judge else "")
            + f"<td class='t'>{_text(n['text'])}</td></tr>"
            for n in e["neg_info"]
        ]
        blocks.append(
            f"<div class='example' data-row='{e['row']}'><h4>line {e['row'] + 1}: {_text(e['query'])}</h4>"
            f"<table><thead><tr><th></th>{head}<th>text</th></tr></thead><tbody>{''.join(trs)}</tbody></table></div>"
        )
    sus = "".join(
        f"<tr data-row='{s['row']}'><td>{s['row'] + 1}</td><td>{_num(s['similarity'])}</td>"
        + (f"<td>{_num(s['judge_gap'])}</td>" if judge else "")
        + f"<td class='t'>{_text(s['query'])}</td><td class='t'>{_text(s['positive'])}</td>"
        f"<td class='t'>{_text(s['text'])}</td></tr>"
        for s in suspects
    )
    judge_head = "<th>judge minus lowest positive</th>" if judge else ""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>Examples: {html.escape(dataset)}</title><style>"
        "body{font-family:sans-serif;font-size:12px}table{border-collapse:collapse;margin:4px 0 14px}"
        "td,th{border:1px solid #ccc;padding:2px 5px;vertical-align:top}td.t{max-width:700px}"
        "tr.pos td{background:#eef7ee}th{background:#f1f3f5}summary{cursor:pointer}"
        "</style></head><body>\n"
        f"<h2>Examples: {html.escape(dataset)}</h2>\n"
        f"<p>{len(sample_rows)} rows of {stats['output_rows']:,}, a fixed seeded sample. Score: the query's "
        "cosine with the passage (bi-encoder); cosine to positive: the passage's cosine with the row's closest "
        "positive"
        + ("; judge: the cross-encoder's score" if judge else "")
        + ". Long texts fold: click to expand.</p>\n"
        + "\n".join(blocks)
        + f"\n<h3>The {SUSPICIOUS} negatives closest to their positive"
        + (" (and the judge's closest)" if judge else "")
        + f", over a seeded sample of up to {SCAN:,} rows</h3>\n"
        f"<table id='suspicious'><thead><tr><th>line</th><th>cosine to positive</th>{judge_head}<th>query</th>"
        f"<th>positive</th><th>negative</th></tr></thead><tbody>{sus}</tbody></table>\n"
        "</body></html>\n"
    )


def run(inputs, outputs, options: ExamplesJob, logger=None) -> None:
    """``outputs.page`` (HTML) from the mined file and the caches it was mined from."""
    verify_tables(inputs, options.dataset, logger)
    stats = read_json(inputs.stats)
    sample_rows, suspects = collect(inputs, options, stats["output_rows"])
    with atomic_path(outputs.page) as tmp:
        tmp.write_text(page(options.dataset, stats, sample_rows, suspects, options.judge), encoding="utf-8")
    if logger:
        logger.info("%s: %d example rows, %d suspicious negatives", options.dataset, len(sample_rows), len(suspects))
