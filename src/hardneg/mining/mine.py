"""Mine stage: pick negatives from the cached candidate table and write the output.

Everything here works on cached ``candidates.parquet`` / ``positive_scores.parquet``,
so changing a mining option never re-embeds or re-searches. The driver streams runs of
whole queries (:func:`hardneg.search.candidates.iter_query_runs`), builds the per-candidate arrays
that :func:`hardneg.mining.select.select_candidates` decides on, and hands the chosen passages to
the output format's writer (:mod:`hardneg.formats.writers`). Texts are compared through 128-bit
hashes, so no candidate text is materialized to decide anything.

With the job's 2 threads, one reads and decides the next runs (:meth:`Miner.decide`) while
the other counts and writes one (:meth:`Miner.apply`), in query order: the bytes do not
depend on the threads.

Memory: the runs of candidates in hand, about 40 bytes per passage and per query (hashes,
group ids), the qrels, and the texts of the passages actually written, which are read from
memory-mapped copies of the tables (:mod:`hardneg.data.textstore`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..arrays import runs_of
from ..data.texts import row_ids
from ..data.textstore import TextStore, passage_store, scratch_dir
from ..formats import FORMATS, open_writer
from ..formats.writers import Records, Writer
from ..integrity import verify_tables
from ..io import Progress, ahead, keep_freed_memory, write_json
from ..jobs import Judge
from ..options import MiningOptions
from ..search.candidates import QueryRun, iter_query_runs, read_positive_scores
from .mine_stats import MineStats
from .mined_sample import Sample, SampleKeeper
from .near_copies import PositiveSimilarity, normalized_ids
from .select import (
    REASONS,
    CandidateArrays,
    PairSets,
    count_reasons,
    group_starts,
    query_seeds,
    sample_keys,
)
from .select import select_candidates as _select

if TYPE_CHECKING:
    from ..stages.mine import MineJob

TRAILING_CHUNK = 65536  # queries with no candidate at the end of the table, per step
JUDGED = REASONS.index("judged_positive") + 1  # its reason code
GIVEN_RANK = -1  # the rank written for a negative the data gives (it was not searched for)


def _grouped(owner: np.ndarray) -> np.ndarray:
    """A stable order that brings each owner's items together (none when they already are)."""
    if np.all(owner[1:] >= owner[:-1]):
        return np.arange(len(owner))
    return np.argsort(owner, kind="stable")


class Decision(NamedTuple):
    """One run of queries [q0, q1), decided (:meth:`Miner.decide`): the run (held-out
    queries' rows dropped), its candidate arrays and reasons, per query whether it is mined,
    its given negatives, chosen count and whether it is written; the written negatives and
    judged positives among the run."""

    span: tuple[int, int]
    run: QueryRun
    c: CandidateArrays
    reason: np.ndarray
    mined: np.ndarray
    given: np.ndarray
    n_chosen: np.ndarray
    written: np.ndarray
    chosen: np.ndarray
    relabel: np.ndarray


class Miner:
    """One dataset: hashes, groups and positives in arrays; candidates streamed."""

    def __init__(self, inputs, opts: MiningOptions, tmpdir, logger=None, judge: Judge | None = None):
        self.opts, self.logger, self.judge = opts, logger, judge
        self.queries = TextStore(
            inputs.queries,
            tmpdir,
            ["query_id", "text"],
            lambda b: b.column("text"),
            extra=lambda b: query_seeds(opts.seed, b.column("query_id").to_numpy(zero_copy_only=False)),
        )
        # each passage's fragment of the output format, made once here (not once per run)
        fragments = FORMATS[opts.output_format].writer_class().fragments
        derived = {"fragment": lambda b: fragments(b.column("docid"), b.column("title"), b.column("text"))}
        self.passages = passage_store(inputs.passages, tmpdir, derived=derived, stored=False)  # hashes, fragments
        self.n_queries, self.n_passages = self.queries.num_rows, self.passages.num_rows
        # a text id per passage: the same id for the same embedded text
        self.text_id = row_ids(self.passages.hashes)
        self.n_texts = int(self.text_id.max()) + 1 if len(self.text_id) else 1
        # each query's text id among the passages' (-1: no passage has its text)
        both = row_ids(np.concatenate([self.passages.hashes, self.queries.hashes]))
        to_text = np.full(int(both.max(initial=-1)) + 1, -1, dtype=np.int64)
        to_text[both[: self.n_passages]] = self.text_id
        self.query_text_id = to_text[both[self.n_passages :]]

        # positive_scores.parquet has one row per qrels row, grouped by query in order
        self.pos_q, self.pos_p, self.pos_s = read_positive_scores(inputs.positive_scores)
        self.pos_starts = group_starts(self.pos_q, self.n_queries)

        # Groups: one per row, or (group_identical_queries) one per distinct query text.
        # Exclusions and the margins' positive score are pooled over the group, as
        # sentence-transformers groups identical anchors.
        if opts.group_identical_queries:
            self.group = row_ids(self.queries.hashes)
        else:
            self.group = np.arange(self.n_queries, dtype=np.int64)
        n_groups = int(self.group.max()) + 1 if self.n_queries else 1
        gp = self.group[self.pos_q]
        self.excl_id = PairSets(gp, self.pos_p, self.n_passages, n_groups)
        self.excl_text = PairSets(gp, self.text_id[self.pos_p], self.n_texts, n_groups)
        if opts.exclude_normalized_text:
            self.norm_id = normalized_ids(inputs.passages)
            self.n_norm = int(self.norm_id.max()) + 1 if len(self.norm_id) else 1
            self.excl_norm = PairSets(gp, self.norm_id[self.pos_p], self.n_norm, n_groups)
        self.similarity = None
        if opts.max_positive_similarity is not None:
            self.similarity = PositiveSimilarity(list(inputs.passage_vectors), self.pos_p, self.pos_starts)
        self._given(inputs, self.group, n_groups)
        low = np.full(n_groups, np.inf)
        np.minimum.at(low, gp, self.pos_s)
        self.margin = np.where(np.isfinite(low), low, np.nan)[self.group]

        # The sentence-transformers n-tuple has fixed negative_1..n columns, so (as in its
        # own n-tuple output) only queries with a full set of negatives are written.
        self.min_negatives = opts.num_negatives if FORMATS[opts.output_format].full_rows else opts.min_negatives
        self.hardest_first = FORMATS[opts.output_format].hardest_first
        self.stats = MineStats(REASONS, inputs.candidates, self.pos_s)
        self.sample = SampleKeeper(opts.seed)  # the examples page's written queries
        # evaluate's training rows: the held-out queries (hardneg.evaluate.holdout) are never written
        exclude = getattr(inputs, "exclude", None)
        self.held = None if exclude is None else np.load(exclude).astype(bool)
        if self.held is not None and len(self.held) != self.n_queries:
            raise ValueError(f"{exclude}: {len(self.held)} rows for {self.n_queries} queries (stale hold-out?)")

    def _given(self, inputs, gp_of: np.ndarray, n_groups: int) -> None:
        """The negatives the data gives (prepare's negatives, scored like the positives):
        written first, counted in ``num_negatives``, and removed from the candidates of
        their query's group by id and by text."""
        path = getattr(inputs, "given_scores", None)
        self.giv_q, self.giv_p, self.giv_s = read_positive_scores(path) if path else (np.zeros(0, np.int64),) * 3
        self.n_given = None
        if not len(self.giv_q):
            return
        self.giv_starts = group_starts(self.giv_q, self.n_queries)
        self.n_given = np.diff(self.giv_starts)
        g = gp_of[self.giv_q]
        self.given_id = PairSets(g, self.giv_p, self.n_passages, n_groups)
        self.given_text = PairSets(g, self.text_id[self.giv_p], self.n_texts, n_groups)

    def candidate_arrays(self, run: QueryRun, q0: int) -> CandidateArrays:
        """What selection decides on, for the candidates of queries starting at ``q0``."""
        qi, pi = run.query_idx, run.passage_idx
        g = self.group[qi]
        extra = {}
        if self.opts.exclude_normalized_text:
            extra["excl_norm_text"] = self.excl_norm.contains(g, self.norm_id[pi])
        if self.similarity is not None:
            extra["positive_similarity"] = self.similarity.highest(qi, pi)
        if self.judge is not None:
            margin = self.margin[qi]
            extra["judged"] = ~np.isnan(margin) & (
                run.score.astype(np.float64) >= margin - self.judge.false_negative_margin
            )
        if self.n_given is not None:
            extra["given"] = self.given_id.contains(g, pi) | self.given_text.contains(g, self.text_id[pi])
        return CandidateArrays(
            **extra,
            cq=qi - q0,
            rank=run.rank,
            scores=run.score,
            excl_id=self.excl_id.contains(g, pi),
            excl_text=self.excl_text.contains(g, self.text_id[pi]),
            is_query_text=self.query_text_id[qi] == self.text_id[pi],
            margin=self.margin[qi],
            keys=sample_keys(self.queries.extra[qi], pi),
        )

    def decide(self, q0: int, q1: int, run: QueryRun) -> Decision:
        """Queries [q0, q1) with their candidates ``run`` (sorted by query, then rank): what
        is chosen and which queries are written. Reads the miner's arrays and changes none,
        so the next runs are decided while this one is counted and written (:meth:`apply`)."""
        nq = q1 - q0
        mined = np.ones(nq, dtype=bool)
        if self.held is not None:
            mined = ~self.held[q0:q1]
            run = run.take(np.flatnonzero(mined[run.query_idx - q0]))
        c = self.candidate_arrays(run, q0)
        given = np.zeros(nq, dtype=np.int64) if self.n_given is None else self.n_given[q0:q1]
        quota = None if self.n_given is None else np.maximum(self.opts.num_negatives - given, 0)
        chosen, reason = _select(c, nq, self.opts, self.judge.false_negatives if self.judge else "keep", quota)
        n_chosen = np.bincount(c.cq[chosen], minlength=nq)
        written = (n_chosen + given >= self.min_negatives) & mined
        chosen = chosen[written[c.cq[chosen]]]  # only written queries' negatives
        if self.hardest_first:  # candidates are in (query, score) order: sorted, hardest first
            chosen = np.sort(chosen)
        relabel = np.zeros(0, dtype=np.int64)
        if self.judge is not None and self.judge.false_negatives == "relabel":
            relabel = np.flatnonzero((reason == JUDGED) & written[c.cq])
        return Decision((q0, q1), run, c, reason, mined, given, n_chosen, written, chosen, relabel)

    def apply(self, writer: Writer, d: Decision) -> None:
        """Count a decided run and write its records, in query order."""
        if self.held is not None:
            self.stats.counts["queries_held_out"] += int(len(d.mined) - d.mined.sum())
        self.stats.add_candidates(count_reasons(d.reason), d.run.score)
        if self.judge is not None:
            self.stats.add_judged(d.c.judged, self._judgeable(d.c))
        m = d.mined
        self.stats.add_chosen(d.n_chosen[m], self.opts.num_negatives, d.written[m], d.given[m])
        self.stats.add_written(d.run.score[d.chosen], d.run.rank[d.chosen])
        if self.judge is not None and self.judge.false_negatives == "relabel":
            self.stats.counts["positives_added_by_judge"] += len(d.relabel)
        wq = np.flatnonzero(d.written) + d.span[0]
        if len(wq):
            records, sample = self._records(wq, d.run, (d.chosen, d.relabel), d.span)
            writer.add_run(records)
            self.sample.add(sample)

    def _judgeable(self, c: CandidateArrays) -> np.ndarray:
        """The candidates the false-negative rate is estimated over: raw ranks in the
        window, positives (by id or text) left out."""
        o = self.opts
        return (c.rank >= o.range_min) & (c.rank < o.range_max) & ~c.excl_id & ~c.excl_text

    def _records(self, wq: np.ndarray, run: QueryRun, picked: tuple, span: tuple[int, int]) -> tuple:
        """The records of the written queries ``wq`` of queries ``span`` = [q0, q1), column
        by column (:class:`hardneg.formats.writers.Records`), and their sample for the examples
        page; ``picked``: the chosen negatives and the judged positives (relabel) among
        ``run``'s candidates. A query's positives are its
        qrels, then the judge's; its negatives the given ones, then the chosen."""
        (q0, q1), (chosen, relabel) = span, picked
        nw = len(wq)
        slot = np.full(q1 - q0, -1, dtype=np.int64)
        slot[wq - q0] = np.arange(nw)  # a written query's place in the run
        n_pos = self.pos_starts[wq + 1] - self.pos_starts[wq]
        pos_rows = runs_of(self.pos_starts[wq], n_pos)
        giv_rows = self._given_rows(wq)
        n_giv = np.zeros(nw, dtype=np.int64) if self.n_given is None else self.n_given[wq]
        # each query's items together; stable, so the qrels (given) come before the judge's (chosen)
        pos_owner = np.r_[np.repeat(np.arange(nw), n_pos), slot[run.query_idx[relabel] - q0]]
        pos_order = _grouped(pos_owner)
        neg_owner = np.r_[np.repeat(np.arange(nw), n_giv), slot[run.query_idx[chosen] - q0]]
        neg_order = _grouped(neg_owner)
        pos_p = np.r_[self.pos_p[pos_rows], run.passage_idx[relabel]][pos_order]
        neg_p = np.r_[self.giv_p[giv_rows], run.passage_idx[chosen]][neg_order]
        frags = self.passages.take_derived("fragment", np.r_[pos_p, neg_p])
        qtab = self.queries.take_table(wq)
        recs = Records(
            query_id=qtab.column("query_id"),
            query=qtab.column("text"),
            pos=frags.slice(0, len(pos_p)),
            pos_n=np.bincount(pos_owner, minlength=nw),
            pos_score=np.r_[self.pos_s[pos_rows], run.score[relabel]][pos_order],
            neg=frags.slice(len(pos_p)),
            neg_n=np.bincount(neg_owner, minlength=nw),
            neg_score=np.r_[self.giv_s[giv_rows], run.score[chosen]][neg_order],
            neg_rank=np.r_[np.full(len(giv_rows), GIVEN_RANK), run.rank[chosen]][neg_order],
        )
        zeros = np.zeros(0, np.int64), np.zeros(nw, bool)
        sample = Sample(zeros[0], wq, recs.pos_n, pos_p, recs.pos_score, recs.neg_n, neg_p, recs.neg_rank,
                        recs.neg_score, zeros[1])  # fmt: skip
        return recs, sample

    def _given_rows(self, wq: np.ndarray) -> np.ndarray:
        """Rows of the given-negative table of queries ``wq``, query by query."""
        if self.n_given is None:
            return np.zeros(0, dtype=np.int64)
        return runs_of(self.giv_starts[wq], self.n_given[wq])

    def spans(self, candidates_path) -> Iterator[tuple[int, int, QueryRun]]:
        """Every query in order, as ``(q0, q1, run)``: runs of whole queries from the
        candidate table (queries between two runs have no candidate), then the trailing
        queries with none."""
        next_q = 0
        for run in iter_query_runs(candidates_path):
            q1 = int(run.query_idx[-1]) + 1
            yield next_q, q1, run
            next_q = q1
        empty = QueryRun(*(np.zeros(0, dtype=t) for t in (np.int64, np.int64, np.int64, np.float64)))
        for q0 in range(next_q, self.n_queries, TRAILING_CHUNK):
            yield q0, min(q0 + TRAILING_CHUNK, self.n_queries), empty

    def run(self, candidates_path, writer: Writer, threads: int = 1) -> None:
        """Every query, in order. With 2 threads or more, a second thread reads and decides
        the next runs while this one counts and writes (:func:`hardneg.io.ahead`)."""
        progress = Progress(self.logger, "mine", total=self.n_queries, unit="queries")
        decided = ((q1, self.decide(q0, q1, run)) for q0, q1, run in self.spans(candidates_path))
        # closed when this returns or raises: the thread stops then, not when collected
        with contextlib.closing(ahead(decided, depth=2) if threads > 1 else decided) as runs:
            for q1, d in runs:
                self.apply(writer, d)
                progress.update(q1)
        progress.update(self.n_queries)
        progress.finish()


def run(inputs, outputs, job: MineJob, logger=None) -> dict:
    """Select negatives for every query of one dataset.

    ``inputs``: ``queries``, ``passages`` (prepare's tables), ``candidates``,
    ``positive_scores`` (merge's or rescore's). ``outputs``: ``mined`` (the training file),
    ``stats`` (``mine_stats.json``) and, where the rule asks for it, ``sample`` (the examples
    page's queries, :mod:`hardneg.mining.mined_sample`), all written atomically."""
    opts = job.mining
    keep_freed_memory()  # each run's arrays reuse the last run's pages
    verify_tables(inputs, job.dataset, logger)
    out_path = Path(outputs.mined)
    with scratch_dir(out_path) as tmpdir:
        miner = Miner(inputs, opts, tmpdir, logger, job.judge)
        writer = open_writer(out_path, opts.output_format, opts.num_negatives, opts.output_scores, job.columns)
        try:
            miner.run(inputs.candidates, writer, job.threads)
        except BaseException as exc:
            writer.abort(exc)
            raise
        writer.close()
    if getattr(outputs, "sample", None):
        miner.sample.kept.save(outputs.sample)
    header = {"dataset": job.dataset, "options": asdict(opts), "queries": miner.n_queries}
    if job.judge is not None:
        header["judge"] = asdict(job.judge)
    stats = miner.stats.to_dict(header, writer.rows, miner.min_negatives)
    if stats["negatives_kept"] + sum(stats["removed"].values()) != stats["candidates_considered"]:
        raise RuntimeError("candidate accounting is off: kept + removed != considered")
    write_json(outputs.stats, stats)
    if logger and opts.num_negatives == 0:  # the in_batch variant: the pairs alone
        logger.info("%s: %d/%d queries written, no negatives mined (num_negatives=0)", job.dataset,
                    stats["queries_written"], stats["queries"])  # fmt: skip
    elif logger:
        removed = {k: v for k, v in stats["removed"].items() if v}
        logger.info(
            "%s: %d/%d queries written; %d short of %d negatives, %d with none, %d dropped (min_negatives=%d); "
            "removed %s",
            job.dataset,
            stats["queries_written"],
            stats["queries"],
            stats["queries_short"],
            opts.num_negatives,
            stats["queries_without_negatives"],
            stats["queries_dropped_below_min_negatives"],
            miner.min_negatives,
            removed,
        )
    return stats
