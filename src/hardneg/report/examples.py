"""The examples page of one dataset: mined rows a person can check by eye.

- ``mined_sample.SHOW`` written queries, a fixed seeded sample: the query, its positives and its
  negatives, each passage with its rank among the query's candidates, its score with the
  query (bi-encoder, from the embedding cache), its cosine to the closest positive and,
  when a cross-encoder rescored the candidates, the judge's score.
- The ``SUSPICIOUS`` negatives closest to their own positive (by cosine, and by the judge's
  score above the query's lowest positive), over a seeded sample of ``SCAN`` queries.

Both samples are kept by the mine job as it writes (:mod:`hardneg.mining.mined_sample`), in any
output format, so this job's cost does not grow with the mined file: it reads the vectors
of the sample and the texts of what it shows. Texts are HTML-escaped, long ones folded
into a ``<details>`` element; the page has no script and loads nothing.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from ..data.texts import passage_text
from ..data.textstore import take_rows
from ..io import atomic_path, read_json
from ..mining.mined_sample import SCAN, Sample
from ..mining.near_copies import PositiveSimilarity
from ..search.vectors import QueryVectors, ShardedMatrix, pair_dot

if TYPE_CHECKING:
    from ..stages.examples import ExamplesJob

SUSPICIOUS = 20
FOLD = 300  # characters shown before a text folds


def collect(inputs, job: ExamplesJob) -> tuple[list[dict], list[dict]]:
    """The shown queries and the suspicious negatives, each passage with its numbers, from
    the mine job's sample (:mod:`hardneg.mining.mined_sample`): every number is computed for the
    whole sample at once; texts are read for what the page shows."""
    s = Sample.load(inputs.sample)
    n = len(s.query_row)
    pos_of, neg_of = np.repeat(np.arange(n), s.pos_n), np.repeat(np.arange(n), s.neg_n)
    pos_start, neg_start = np.r_[0, np.cumsum(s.pos_n)], np.r_[0, np.cumsum(s.neg_n)]
    pvec = ShardedMatrix(list(inputs.passage_vectors))
    qv = QueryVectors(list(inputs.query_vectors), inputs.twins, list(inputs.passage_vectors)).take(s.query_row)
    qv = qv.astype(np.float64)
    pos_cos = pair_dot(qv[pos_of], pvec.take(s.pos_row).astype(np.float64))
    neg_cos = pair_dot(qv[neg_of], pvec.take(s.neg_row).astype(np.float64))
    # each negative's cosine to its query's closest positive, as the near-copy filter
    # computes it for a query's candidates
    closest = PositiveSimilarity(list(inputs.passage_vectors), s.pos_row, pos_start.astype(np.int64)).highest(
        neg_of, s.neg_row
    )
    has_pos = s.pos_n[neg_of] > 0
    mined = s.neg_rank >= 0  # a given negative has no rank, nor a judge's candidate score
    low = np.full(n, np.inf)
    if job.judge:
        np.minimum.at(low, pos_of, s.pos_score)
    gap = s.neg_score - low[neg_of]
    judged = job.judge & mined & np.isfinite(low[neg_of])

    by_sim = np.flatnonzero(has_pos)
    top = by_sim[np.lexsort((s.record[neg_of[by_sim]], -closest[by_sim].astype(np.float64)))][:SUSPICIOUS].tolist()
    if job.judge:
        scored = np.flatnonzero(judged)
        by_judge = scored[np.lexsort((s.record[neg_of[scored]], -gap[scored]))][:SUSPICIOUS]
        top += [j for j in by_judge.tolist() if j not in top]
    shown = np.flatnonzero(s.shown)
    queries = _texts(inputs.queries, s.query_row[np.r_[shown, neg_of[top]].astype(np.int64)], ["text"])
    need = [s.pos_row[pos_start[k] : pos_start[k + 1]] for k in shown] + [
        s.neg_row[neg_start[k] : neg_start[k + 1]] for k in shown
    ]
    need += [s.neg_row[top], s.pos_row[pos_start[neg_of[top]]]]
    passages = _texts(inputs.passages, np.concatenate(need + [np.zeros(0, np.int64)]), ["title", "text"])

    def negative(j: int) -> dict:
        judge = float(s.neg_score[j]) if job.judge and mined[j] else None
        return {
            "text": passages[int(s.neg_row[j])],
            "rank": int(s.neg_rank[j]) if mined[j] else None,
            "score": float(neg_cos[j]),
            "similarity": float(closest[j]) if has_pos[j] else None,
            "judge": judge,
            "judge_gap": float(gap[j]) if judged[j] else None,
        }

    def entry(k: int) -> dict:
        pos = range(pos_start[k], pos_start[k + 1])
        return {
            "row": int(s.record[k]),
            "query": queries[int(s.query_row[k])],
            "pos_info": [
                {
                    "text": passages[int(s.pos_row[j])],
                    "score": float(pos_cos[j]),
                    "judge": float(s.pos_score[j]) if job.judge else None,
                }
                for j in pos
            ],
            "neg_info": [negative(j) for j in range(neg_start[k], neg_start[k + 1])],
        }

    def suspect(j: int) -> dict:
        k = int(neg_of[j])
        first = passages[int(s.pos_row[pos_start[k]])]
        return {**negative(j), "row": int(s.record[k]), "query": queries[int(s.query_row[k])], "positive": first}

    return [entry(k) for k in shown], [suspect(j) for j in top]


def _texts(path, rows: np.ndarray, columns: list[str]) -> dict[int, str]:
    """{row: its text} of a prepared table (passages joined as ``passage_text``)."""
    rows = np.unique(rows)
    got = take_rows(path, rows, columns)
    texts = (
        got["text"]
        if columns == ["text"]
        else [passage_text(a, b) for a, b in zip(got["title"], got["text"], strict=True)]
    )
    return dict(zip(rows.tolist(), texts, strict=True))


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
        f"<p>{len(sample_rows)} of {stats['queries_written']:,} queries ({stats['output_rows']:,} rows in the file), "
        "a fixed seeded sample. Score: the query's "
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


def run(inputs, outputs, job: ExamplesJob, logger=None) -> None:
    """``outputs.page`` (HTML) from the mined file and the caches it was mined from."""
    stats = read_json(inputs.stats)
    sample_rows, suspects = collect(inputs, job)
    with atomic_path(outputs.page) as tmp:
        tmp.write_text(page(job.dataset, stats, sample_rows, suspects, job.judge), encoding="utf-8")
    if logger:
        logger.info("%s: %d example rows, %d suspicious negatives", job.dataset, len(sample_rows), len(suspects))
