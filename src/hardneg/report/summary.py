"""Report stage: one table over all datasets, as Markdown and as an HTML page.

Counts come from ``prepare_stats.json`` and ``mine_stats.json``; each stage's wall time
and peak memory from the jobs' Snakemake ``benchmark:`` files (summed over a stage's
jobs for time, the largest job for memory).
"""

from __future__ import annotations

import csv
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..evaluate.evaluation import main_metric_table
from ..evaluate.metrics import MAIN_METRIC
from ..io import atomic_path, read_json

if TYPE_CHECKING:
    from ..stages.report import ReportJob

COUNT_COLUMNS = (
    "dataset",
    "rows read",
    "queries",
    "passages",
    "rows written",
    "mean neg/query",
    "short",
    "dropped",
    "pos score p50",
    "neg score p50",
    "est. false negatives",
)


def read_benchmark(path) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one job's benchmark file (last repeat)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    row = rows[-1]

    def num(key):
        try:
            return float(row[key])
        except (KeyError, ValueError):
            return 0.0

    return num("s"), num("max_rss")


def stage_costs(benchmarks: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    out = {}
    for stage, paths in benchmarks.items():
        costs = [read_benchmark(p) for p in paths]
        out[stage] = (sum(c[0] for c in costs), max((c[1] for c in costs), default=0.0))
    return out


def summary_rows(prepare_stats: list[str], mine_stats: list[str], benchmarks: dict) -> tuple[list, list[str]]:
    rows, stages = [], []
    for p, m in zip(prepare_stats, mine_stats, strict=True):
        ps, ms = read_json(p), read_json(m)
        written = ms["queries_written"]
        queries = ms["queries"]
        costs = stage_costs(benchmarks.get(ps["dataset"], {}))
        for s in costs:
            if s not in stages:
                stages.append(s)
        rows.append(
            {
                "dataset": ps["dataset"],
                "rows read": ps["rows_read"],
                "queries": queries,
                "passages": ps["passages"],
                "rows written": ms["output_rows"],
                "mean neg/query": f"{ms['negatives_written'] / written if written else 0.0:.2f}",
                "short": f"{ms['queries_short']} ({100 * ms['queries_short'] / max(queries, 1):.1f}%)",
                "dropped": ms["queries_dropped_below_min_negatives"],
                "pos score p50": ms["positive_scores"].get("p50", ""),
                "neg score p50": ms["negative_scores"].get("p50", ""),
                "est. false negatives": (
                    f"{100 * ms['false_negatives']['estimated_rate']:.1f}%" if "false_negatives" in ms else ""
                ),
                "costs": costs,
            }
        )
    return rows, stages


def evaluation_columns(evaluations: list[str]) -> tuple[list[str], dict]:
    """(column heads, {dataset: cells}) of the main metric per evaluation variant."""
    names, table = main_metric_table([read_json(p) for p in evaluations])
    return [f"{MAIN_METRIC} {v}" for v in names], {r[0]: r[2:] for r in table}


def write_summary(
    prepare_stats: list, mine_stats: list, benchmarks: dict, out_md, out_html=None, *, evaluations=(), plots=()
) -> str:
    rows, stages = summary_rows(prepare_stats, mine_stats, benchmarks)
    eval_heads, eval_cells = evaluation_columns(list(evaluations))
    stage_heads = [f"{s} s / MB" for s in stages]

    def counts(r) -> list[str]:
        return [str(r[c]) for c in COUNT_COLUMNS]

    def evals(r) -> list[str]:
        return eval_cells.get(r["dataset"], [""] * len(eval_heads))

    def costs(r) -> list[str]:
        return [f"{t:.1f} / {m:.0f}" for t, m in (r["costs"].get(s, (0.0, 0.0)) for s in stages)]

    heads = list(COUNT_COLUMNS) + stage_heads + eval_heads
    lines = [
        "# Hard-negative mining summary",
        "",
        "Short: queries with fewer than `num_negatives` negatives. Est. false negatives: the share of the "
        "window's candidates that the cross-encoder judges relevant (empty without one). Stage columns: wall "
        "time summed over the stage's jobs, and the largest job's peak RSS."
        + (f" {MAIN_METRIC} columns: held-out evaluation per variant, mean [95% interval]." if eval_heads else ""),
        "",
        "| " + " | ".join(heads) + " |",
        "|---|" + "---:|" * (len(heads) - 1),
    ]
    lines += ["| " + " | ".join(counts(r) + costs(r) + evals(r)) + " |" for r in rows]
    text = "\n".join(lines) + "\n"
    with atomic_path(out_md) as tmp:
        tmp.write_text(text)
    if out_html:
        page = (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Hard-negative mining summary</title>"
            f"<style>{PAGE_STYLE}</style></head><body>\n"
            "<h2>Hard-negative mining summary</h2>\n"
            "<p>Short: queries with fewer than <code>num_negatives</code> negatives. Est. false negatives: the "
            "share of the window's candidates that the cross-encoder judges relevant.</p>\n"
            + html_table("summary", list(COUNT_COLUMNS) + eval_heads, [counts(r) + evals(r) for r in rows])
            + "<h3>Stage costs</h3>\n<p>Wall time summed over the stage's jobs / the largest job's peak RSS in "
            "MB.</p>\n"
            + html_table("costs", ["dataset", *stage_heads], [[r["dataset"], *costs(r)] for r in rows])
            + plot_section(list(plots), Path(out_html).parent)
            + "</body></html>\n"
        )
        with atomic_path(out_html) as tmp:
            tmp.write_text(page, encoding="utf-8")
    return text


# the HTML summary is two tables (counts, then stage costs), so neither is wider than a
# laptop screen; long dataset names wrap
PAGE_STYLE = (
    "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse;margin:6px 0 14px}"
    "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f1f3f5}"
    "td:first-child,th:first-child{text-align:left;max-width:16em;overflow-wrap:anywhere}"
)


def plot_section(plots: list[str], folder: Path) -> str:
    """Each dataset's plots (``plots/NAME.TAG/*.svg``), linked from the page's folder."""
    by_dataset: dict[str, list[str]] = {}
    for plot in plots:
        by_dataset.setdefault(Path(plot).parent.name, []).append(os.path.relpath(plot, folder))
    out = "".join(
        f"<h4>{html.escape(name)}</h4>\n"
        + "".join(f"<img src='{html.escape(src)}' alt='{html.escape(Path(src).stem)}' width='420'>" for src in srcs)
        + "\n"
        for name, srcs in by_dataset.items()
    )
    return f"<h3>Plots</h3>\n{out}" if out else ""


def html_table(table_id: str, heads: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>\n" for r in rows)
    return f"<table id='{table_id}'><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>\n"


def run(inputs, outputs, job: ReportJob, logger=None) -> str:
    """``outputs.markdown`` and ``outputs.html``: one row per dataset, from every dataset's
    ``inputs.prepare`` and ``inputs.mine`` stats and its jobs' benchmark files."""
    text = write_summary(
        list(inputs.prepare),
        list(inputs.mine),
        job.benchmarks,
        outputs.markdown,
        outputs.html,
        evaluations=list(getattr(inputs, "evaluation", None) or []),
        plots=list(getattr(inputs, "plots", None) or []),
    )
    if logger:
        logger.info("wrote %s and %s", outputs.markdown, outputs.html)
    return text
