"""Per-dataset plots for ``snakemake --report`` (SVG, offline, deterministic bytes).

Each function reads the stats the stages already write (``prepare_stats.json``, the embed
shards' ``stats.{i}.json`` and ``mine_stats.json``) and draws one figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..io import atomic_path, read_json
from ..mining.select import REASONS
from ..options import PLOTS

if TYPE_CHECKING:
    from ..stages.plots import PlotsJob

COLORS = {"positives": "#2b8a3e", "negatives": "#c92a2a", "candidates": "#868e96"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "hardneg", "svg.fonttype": "none", "font.size": 9})
    return plt


def _save(fig, path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="svg", metadata={"Date": None}, bbox_inches="tight")
    fig.clear()
    _plt().close(fig)


def _rebin(hist: dict, bins: int = 50) -> tuple[np.ndarray, np.ndarray]:
    counts = np.asarray(hist["counts"], dtype=np.float64)
    k = max(1, len(counts) // bins)
    counts = counts[: len(counts) // k * k].reshape(-1, k).sum(axis=1)
    edges = np.linspace(hist["lo"], hist["hi"], len(counts) + 1)
    return edges, counts


def plot_scores(mine: dict, path, dataset: str) -> None:
    """Positives, chosen negatives and all retrieved candidates on one score axis."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    hists = mine.get("score_histograms", {})
    for key, label in (("candidates", "all retrieved"), ("negatives", "chosen negatives"), ("positives", "positives")):
        if key not in hists or not sum(hists[key]["counts"]):
            continue
        edges, counts = _rebin(hists[key])
        share = counts / counts.sum()
        ax.stairs(
            share,
            edges,
            label=f"{label} (n={int(counts.sum()):,})",
            color=COLORS[key],
            fill=key == "candidates",
            alpha=0.35 if key == "candidates" else 1.0,
            linewidth=1.6,
        )
    ax.set_xlabel("score")
    ax.set_ylabel("share of pairs")
    ax.set_title(f"{dataset}: score distributions")
    ax.legend(frameon=False)
    _save(fig, path)


def plot_negatives_per_query(mine: dict, path, dataset: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    hist = {int(k): v for k, v in mine["negatives_per_query"].items()}
    xs = np.arange(0, max(hist, default=0) + 1)
    ax.bar(xs, [hist.get(int(x), 0) for x in xs], color=COLORS["negatives"])
    ax.set_xlabel("negatives per query (before min_negatives)")
    ax.set_ylabel("queries")
    want = mine["options"]["num_negatives"]
    ax.set_title(f"{dataset}: {mine['queries_short']:,} of {mine['queries']:,} queries short of {want}")
    _save(fig, path)


def plot_negative_ranks(mine: dict, path, dataset: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    ranks = mine.get("negative_ranks", [])
    ax.bar(np.arange(len(ranks)), ranks, width=1.0, color=COLORS["negatives"])
    ax.set_xlabel("rank of the chosen negative among the retrieved candidates (0 = best)")
    ax.set_ylabel("negatives written")
    ax.set_title(f"{dataset}: where the negatives come from")
    _save(fig, path)


def _counts_barh(ax, items: list[tuple[str, int]], colors) -> None:
    """Horizontal bars, first item on top, each labelled with its count."""
    names = [k.replace("_", " ") for k, _ in items]
    ax.barh(names[::-1], [v for _, v in items][::-1], color=colors[::-1] if isinstance(colors, list) else colors)
    for y, (_, v) in enumerate(items[::-1]):
        ax.text(v, y, f" {v:,}", va="center")


def plot_removed(mine: dict, path, dataset: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    removed = mine["removed"]  # in the order the rules apply
    items = [("kept", mine["negatives_kept"])] + [(r, removed[r]) for r in REASONS if r in removed]
    _counts_barh(ax, items, ["#2b8a3e"] + ["#868e96"] * (len(items) - 1))
    ax.set_xlabel("candidates")
    ax.set_title(f"{dataset}: {mine['candidates_considered']:,} candidates, kept or removed by one rule each")
    _save(fig, path)


def plot_prepare(prep: dict, path, dataset: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    items = [("rows read", prep["rows_read"]), ("queries kept", prep["queries"])]
    items += [(f"dropped: {k}", v) for k, v in prep["dropped"].items()]
    items += [(f"bad row: {k}", v) for k, v in prep["bad_rows_skipped"].items()]
    items += [(k, v) for k, v in prep.get("details", {}).items() if v]  # e.g. BeIR: queries not in the qrels
    _counts_barh(ax, items, "#1c7ed6")
    ax.set_xlabel("rows")
    ax.set_title(f"{dataset}: {prep['passages']:,} passages, {prep['qrels']:,} positives")
    _save(fig, path)


def plot_truncation(embed_stats: list[dict], path, dataset: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 2.4))
    sides = ("queries", "passages")
    rows = [sum(s[side]["rows"] for s in embed_stats) for side in sides]
    trunc = [sum(s[side]["truncated"] for s in embed_stats) for side in sides]
    ax.barh(sides, rows, color="#dee2e6", label="texts")
    ax.barh(sides, trunc, color="#e8590c", label="truncated")
    for y, (r, t) in enumerate(zip(rows, trunc, strict=True)):
        ax.text(r, y, f" {t:,} of {r:,} truncated", va="center")
    limit = embed_stats[0].get("max_seq_length") if embed_stats else None
    ax.set_title(f"{dataset}: texts longer than max_seq_length={limit} tokens")
    ax.legend(frameon=False, loc="lower right")
    _save(fig, path)


def run(inputs, outputs, job: PlotsJob, logger=None) -> None:
    """Every plot of one dataset (``outputs`` has one path per name of PLOTS) from its
    ``inputs.mine_stats``, ``inputs.prepare_stats`` and every ``inputs.embed_stats``."""
    dataset = job.dataset
    mine, prep = read_json(inputs.mine_stats), read_json(inputs.prepare_stats)
    emb = [read_json(p) for p in inputs.embed_stats]
    out = {name: getattr(outputs, name) for name in PLOTS}
    plot_scores(mine, out["scores"], dataset)
    plot_negatives_per_query(mine, out["negatives_per_query"], dataset)
    plot_negative_ranks(mine, out["negative_ranks"], dataset)
    plot_removed(mine, out["removed"], dataset)
    plot_prepare(prep, out["prepare"], dataset)
    plot_truncation(emb, out["truncation"], dataset)
