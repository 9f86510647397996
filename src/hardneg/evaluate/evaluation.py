"""Evaluate stage, results: one dataset's variants side by side (``evaluation/NAME.json``,
a bar plot and an HTML page for the report), and the table over datasets.

Each metric's mean has a 95% bootstrap interval over the held-out queries; each pair of
variants gets the paired difference (bootstrap interval over the same resamples of the
queries, and a sign test), so a difference can be told from the noise.
"""

from __future__ import annotations

import html
import itertools
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

from ..io import atomic_path, read_json, write_json
from .metrics import MAIN_METRIC, METRICS, bootstrap_interval, compare
from .sweep_report import page_section, sweep_section, verdict

if TYPE_CHECKING:
    from ..stages.evaluation import EvaluationJob

PAGE_STYLE = (
    "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse;margin:8px 0}"
    "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}"
    "th{background:#f1f3f5}"
)


def interval_cell(m: dict) -> str:
    """A metric as ``mean [lo, hi]`` (its 95% interval)."""
    return f"{m['mean']:.4f} [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]"


def summarize(inputs, job: EvaluationJob) -> dict:
    """The dataset's evaluation: per variant, each metric's mean and interval, its
    training; per pair of variants, the paired differences."""
    tables = {v: pq.read_table(p) for v, p in zip(job.variants, inputs.per_query, strict=True)}
    ids = tables[job.variants[0]].column("query_id")
    for v, t in tables.items():
        if not t.column("query_id").equals(ids):
            raise ValueError(f"{job.dataset}: variant {v} was scored on other held-out queries; re-run evaluate")
    train = {s["variant"]: s for s in map(read_json, inputs.train_stats)}
    mined = {v: read_json(p) for v, p in zip([v for v in job.variants if v != "base"], inputs.mine_stats, strict=True)}
    values = {v: {k: t.column(k).to_numpy() for k in METRICS} for v, t in tables.items()}
    variants = {}
    for i, v in enumerate(job.variants):
        ms = mined.get(v)
        variants[v] = {
            "metrics": {
                k: {
                    "mean": float(a.mean()),
                    "ci95": list(bootstrap_interval(a, job.evaluate.bootstrap, job.evaluate.seed + i)),
                }
                for k, a in values[v].items()
            },
            "mining": job.mining.get(v),
            "teacher": job.teachers.get(v),
            "teacher_max_seq_length": job.teacher_tokens.get(v),
            "training_rows": ms["queries_written"] if ms else None,
            "training": train.get(v),
        }
    comparisons = {}
    for a, b in itertools.combinations(job.variants, 2):
        comparisons[f"{b} - {a}"] = {
            k: compare(values[b][k], values[a][k], job.evaluate.bootstrap, job.evaluate.seed) for k in METRICS
        }
    held = read_json(inputs.holdout_stats)
    result = {
        "dataset": job.dataset,
        "main_metric": MAIN_METRIC,
        "student": job.student,
        "held_out": held,
        "queries": len(ids),
        "warnings": held.get("warnings", []),  # holdout's: the held-out set is what they judge
        "order": list(job.variants),  # JSON objects are written with sorted keys
        "variants": variants,
        "comparisons": comparisons,
    }
    sweep = sweep_section(result, values, job)
    if sweep:
        result["sweep"] = sweep
    return result


def plot(result: dict, out_svg) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "hardneg"  # stable ids: same data, same bytes
    names = result["order"]
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(names) * len(METRICS) / 3, 3.4))
    width = 0.8 / len(names)
    x = np.arange(len(METRICS))
    for i, v in enumerate(names):
        m = result["variants"][v]["metrics"]
        means = np.array([m[k]["mean"] for k in METRICS])
        err = np.array([[means[j] - m[k]["ci95"][0], m[k]["ci95"][1] - means[j]] for j, k in enumerate(METRICS)]).T
        ax.bar(x + (i - (len(names) - 1) / 2) * width, means, width, yerr=err, capsize=2, label=v)
    ax.set_xticks(x, METRICS)
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean over held-out queries")
    ax.set_title(f"{result['dataset']}: {result['queries']} held-out queries (95% bootstrap intervals)", fontsize=9)
    ax.legend(fontsize=7, ncol=min(len(names), 5), loc="upper left")
    fig.tight_layout()
    with atomic_path(out_svg) as tmp:
        fig.savefig(tmp, format="svg", metadata={"Date": None})
    plt.close(fig)


def page(result: dict) -> str:
    """A self-contained HTML page: metrics by variant, and the main metric's differences."""
    esc = html.escape
    head = "".join(f"<th>{esc(k)} [95% CI]</th>" for k in METRICS)
    rows = []
    for v in result["order"]:
        r = result["variants"][v]
        cells = "".join(f"<td>{interval_cell(r['metrics'][k])}</td>" for k in METRICS)
        steps = r["training"]["steps"] if r["training"] else "–"
        tokens = f" ({r['teacher_max_seq_length']} tokens)" if r.get("teacher_max_seq_length") else ""
        teacher = esc((r.get("teacher") or "–") + tokens)
        rows.append(
            f"<tr><td>{esc(v)}</td><td>{teacher}</td>{cells}<td>{r['training_rows'] or '–'}</td><td>{steps}</td></tr>"
        )
    comp = []
    for name, c in result["comparisons"].items():
        m = c[MAIN_METRIC]
        st = m["sign_test"]
        comp.append(
            f"<tr><td>{esc(name)}</td><td>{m['mean']:+.4f}</td><td>[{m['ci95'][0]:+.4f}, {m['ci95'][1]:+.4f}]</td>"
            f"<td>{st['wins']} / {st['losses']} / {st['ties']}</td><td>{st['p']:.3g}</td></tr>"
        )
    held = result["held_out"]
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>Evaluation: {esc(result['dataset'])}</title><style>{PAGE_STYLE}</style></head><body>\n"
        f"<h2>Evaluation: {esc(result['dataset'])}</h2>\n"
        f"<p>{result['queries']} held-out queries ({esc(str(held['source']))}), scored against all "
        f"passages of the corpus; {held['training_rows_excluded']} training rows with a held-out query's text "
        f"were left out of every variant. Each variant fine-tunes {esc(result['student'])} on rows its "
        "teacher mined.</p>\n"
        + "".join(f"<p class='warning'><b>Warning:</b> {esc(w)}.</p>\n" for w in result.get("warnings", []))
        + f"<table id='metrics'><thead><tr><th>variant</th><th>teacher</th>{head}"
        "<th>training rows</th><th>steps</th></tr></thead>"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        f"<h3>Paired differences in {MAIN_METRIC}</h3>\n"
        "<table id='comparisons'><thead><tr><th>difference</th><th>mean</th><th>95% CI</th>"
        "<th>queries better / worse / tied</th><th>sign test p</th></tr></thead><tbody>\n"
        + "\n".join(comp)
        + "\n</tbody></table>\n"
        + (page_section(result["sweep"], result["dataset"]) if result.get("sweep") else "")
        + "</body></html>\n"
    )


def run(inputs, outputs, job: EvaluationJob, logger=None) -> dict:
    """``outputs.json``, ``plot`` (SVG) and ``page`` (HTML) of one dataset."""
    result = summarize(inputs, job)
    write_json(outputs.json, result)
    plot(result, outputs.plot)
    with atomic_path(outputs.page) as tmp:
        tmp.write_text(page(result), encoding="utf-8")
    if logger:
        main = {v: round(result["variants"][v]["metrics"][MAIN_METRIC]["mean"], 4) for v in result["order"]}
        logger.info("%s: %s by variant %s", job.dataset, MAIN_METRIC, main)
        if result.get("sweep"):
            logger.info("%s: %s", job.dataset, verdict(result["sweep"]))
        for w in result["warnings"]:
            logger.warning("%s: %s", job.dataset, w)
    return result


def main_metric_table(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    """(variant names, one row per dataset of ``mean [lo, hi]`` cells) of the main metric."""
    names: list[str] = []
    for r in results:
        names += [v for v in r["order"] if v not in names]
    rows = []
    for r in results:
        cells = [r["dataset"], str(r["queries"])]
        for v in names:
            m = r["variants"].get(v, {}).get("metrics", {}).get(MAIN_METRIC)
            cells.append(interval_cell(m) if m else "")
        rows.append(cells)
    return names, rows


def write_summary(paths: list, out_md) -> str:
    """``evaluation/summary.md``: the main metric of every variant, one row per dataset."""
    names, rows = main_metric_table([read_json(p) for p in paths])
    lines = [
        f"# Evaluation: {MAIN_METRIC} on held-out queries (95% bootstrap intervals)",
        "",
        "| dataset | queries | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines) + "\n"
    with atomic_path(out_md) as tmp:
        tmp.write_text(text)
    return text
