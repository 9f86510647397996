"""Report stage: a Markdown summary of every dataset's prepare and mine stats."""

from __future__ import annotations

from .io import atomic_path, read_json


def write_summary(prepare_stats: list[str], mine_stats: list[str], out_path) -> str:
    lines = [
        "# Hard-negative mining summary",
        "",
        "| dataset | rows read | queries | passages | written | short | none | dropped | mean neg/query "
        "| pos score p50 | neg score p50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p, m in zip(prepare_stats, mine_stats, strict=True):
        ps, ms = read_json(p), read_json(m)
        written = ms["queries_written"]
        mean_neg = ms["negatives_written"] / written if written else 0.0
        lines.append(
            f"| {ps['dataset']} | {ps['rows_read']} | {ps['queries']} | {ps['passages']} | {written} "
            f"| {ms['queries_short']} | {ms['queries_without_negatives']} "
            f"| {ms['queries_dropped_below_min_negatives']} | {mean_neg:.2f} "
            f"| {ms['positive_scores'].get('p50', '')} | {ms['negative_scores'].get('p50', '')} |"
        )
    text = "\n".join(lines) + "\n"
    with atomic_path(out_path) as tmp:
        tmp.write_text(text)
    return text
