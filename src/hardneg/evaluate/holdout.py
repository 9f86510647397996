"""Hold-out split of the evaluate stage: the queries a model is scored on and never trained on.

- BeIR datasets: the queries of another qrels split (``evaluate.split``, ``test`` by
  default), with their relevant passages found among the prepared corpus by ``_id``.
- Pair datasets (``pairs``, ``medmcqa``): a share of the distinct query texts, chosen by a
  128-bit hash of the text (so the choice depends on the text alone, not on row order or
  sharding); a held-out query's relevant passages are the positives of every row with its
  text, and stay in the corpus.

Either way at most ``max_holdout`` queries are kept (the lowest hashes), and every
prepared row whose query text equals a held-out query's is marked in ``exclude`` so that
no variant trains on it. The mined files in ``output_dir`` are not affected.

Outputs: ``heldout`` (parquet: ``query_id``, ``text``, ``relevant`` = list of passage rows),
``exclude`` (bool ``.npy``, one per prepared query) and ``stats``.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..data.beir import BeirSource
from ..data.loaders import BadRows
from ..data.texts import text_hashes
from ..io import InputError, atomic_path, write_json
from .metrics import small_sample_warnings

if TYPE_CHECKING:
    from ..stages.holdout import HoldoutJob

HELDOUT_SCHEMA = pa.schema([("query_id", pa.string()), ("text", pa.string()), ("relevant", pa.list_(pa.int64()))])


def hash_fraction(hashes: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) per 128-bit hash (its first 53 bits)."""
    return (hashes[:, 0] >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _order(hashes: np.ndarray) -> np.ndarray:
    """Rows in hash order (the cap keeps the first ones)."""
    return np.lexsort((hashes[:, 1], hashes[:, 0]))


def _text_keys(hashes: np.ndarray) -> np.ndarray:
    return hashes.view([("a", np.uint64), ("b", np.uint64)]).ravel()


def pair_holdout(queries: pa.Table, qrels: pa.Table, job: HoldoutJob) -> tuple[list, np.ndarray, Counter]:
    """Held-out (query_id, text, relevant) of a pair dataset, and the exclude mask."""
    texts = queries.column("text").to_pylist()
    h = text_hashes(texts)
    keys, first, inverse = np.unique(_text_keys(h), return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    distinct_h = h[first]
    chosen = np.flatnonzero(hash_fraction(distinct_h) < job.evaluate.holdout_fraction)
    counts = Counter(distinct_query_texts=len(keys), held_out_by_fraction=len(chosen))
    chosen = chosen[_order(distinct_h[chosen])][: job.evaluate.max_holdout]
    held_text = np.zeros(len(keys), dtype=bool)
    held_text[chosen] = True
    exclude = held_text[inverse]
    q_idx = qrels.column("query_idx").to_numpy()
    p_idx = qrels.column("passage_idx").to_numpy()
    relevant: dict[int, set] = {int(t): set() for t in chosen}
    for q, p in zip(q_idx[exclude[q_idx]].tolist(), p_idx[exclude[q_idx]].tolist(), strict=True):
        relevant[int(inverse[q])].add(p)
    ids = queries.column("query_id").to_pylist()
    rows = [(ids[first[t]], texts[first[t]], sorted(relevant[int(t)])) for t in chosen]
    return rows, exclude, counts


def beir_holdout(raw, queries: pa.Table, passages: pa.Table, job: HoldoutJob) -> tuple[list, np.ndarray, Counter]:
    """Held-out queries of a BeIR dataset: its ``split`` qrels, against the prepared corpus."""
    src = BeirSource(raw, job.evaluate.split)
    bad = BadRows(cap=job.max_bad_rows)
    counts: Counter = Counter()
    wanted: dict[str, list[str]] = {}
    for _where, qid, cid in src.iter_qrels(bad):
        docs = wanted.setdefault(qid, [])
        if cid not in docs:
            docs.append(cid)
    doc_index = {d: i for i, d in enumerate(passages.column("docid").to_pylist())}
    rows = []
    for _where, qid, text in src.iter_queries(bad):
        if qid not in wanted:
            continue
        rel = sorted({doc_index[c] for c in wanted.pop(qid) if c in doc_index})
        if rel:
            rows.append((qid, text, rel))
        else:
            counts["query_without_relevant_passage_in_corpus"] += 1
    counts["qrels_query_ids_missing_from_queries"] = len(wanted)
    counts.update({f"bad_{k}": v for k, v in bad.counts.items()})
    if not rows:
        raise InputError(
            f"{src.label(f'qrels/{job.evaluate.split}.tsv')}: no query of this split has a passage in the corpus"
        )
    h = text_hashes([r[1] for r in rows])
    # one held-out query per text (the lowest hash order is the cap's order too)
    order = _order(h)
    _, first = np.unique(_text_keys(h)[order], return_index=True)
    keep = order[np.sort(first)][: job.evaluate.max_holdout]
    counts["split_queries"] = len(rows)
    rows = [rows[i] for i in keep]
    held = np.sort(_text_keys(h[keep]))
    q = _text_keys(text_hashes(queries.column("text").to_pylist()))
    pos = np.clip(np.searchsorted(held, q), 0, max(len(held) - 1, 0))
    exclude = held[pos] == q if len(held) else np.zeros(len(q), dtype=bool)
    return rows, exclude, counts


def run(inputs, outputs, job: HoldoutJob, logger=None) -> dict:
    """``outputs.heldout``, ``exclude`` and ``stats`` from prepare's tables (and, for BeIR,
    ``inputs.raw``)."""
    queries = pq.read_table(inputs.queries, columns=["query_id", "text"])
    if job.format == "beir":
        passages = pq.read_table(inputs.passages, columns=["docid"])
        rows, exclude, counts = beir_holdout(inputs.raw, queries, passages, job)
    else:
        qrels = pq.read_table(inputs.qrels)
        rows, exclude, counts = pair_holdout(queries, qrels, job)
        if not rows:
            raise InputError(
                f"dataset {job.dataset}: evaluate.holdout_fraction {job.evaluate.holdout_fraction} holds out "
                "no query of "
                f"{counts['distinct_query_texts']} distinct query texts; raise it"
            )
    table = pa.table(
        [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        schema=HELDOUT_SCHEMA,
    )
    with atomic_path(outputs.heldout) as tmp:
        pq.write_table(table, tmp)
    with atomic_path(outputs.exclude) as tmp, open(tmp, "wb") as fh:
        np.save(fh, exclude.astype(bool))
    stats = {
        "dataset": job.dataset,
        "source": f"qrels/{job.evaluate.split}.tsv"
        if job.format == "beir"
        else f"{job.evaluate.holdout_fraction:g} of query texts",
        "held_out_queries": len(rows),
        "relevant_passages": int(sum(len(r[2]) for r in rows)),
        "training_rows_excluded": int(exclude.sum()),
        "corpus_passages": pq.ParquetFile(inputs.passages).metadata.num_rows,
        "details": dict(sorted(counts.items())),
    }
    stats["warnings"] = small_sample_warnings(stats["held_out_queries"], stats["corpus_passages"])
    write_json(outputs.stats, stats)
    if logger:
        logger.info(
            "%s: %d held-out queries (%s); %d training rows excluded",
            job.dataset,
            len(rows),
            stats["source"],
            stats["training_rows_excluded"],
        )
        for w in stats["warnings"]:
            logger.warning("%s: %s", job.dataset, w)
    return stats
