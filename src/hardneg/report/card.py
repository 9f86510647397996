"""A Hugging Face dataset card (``{dataset}.README.md``) next to each mined file.

YAML front matter in the Hub's format (``configs``, ``dataset_info.splits``), then a
short text: source and pinned revision, model and settings, counts, schema, and how the
file was made. Upload the file as the repo's ``README.md`` (see the project README).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..data.sources import parse_source
from ..evaluate.evaluation import interval_cell
from ..evaluate.metrics import METRICS
from ..formats import FORMATS
from ..io import atomic_path, read_json

if TYPE_CHECKING:
    from ..stages.card import CardJob


def _or_none(value) -> str:
    return "none" if value is None else str(value)


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M" if n < 10_000_000 else "10M<n<100M"


def describe_source(source: str) -> dict:
    src = parse_source(source)
    if src.kind == "hf":
        return {"kind": "huggingface", "repo_id": src.repo_id, "revision": src.revision, "path": src.path}
    if src.kind == "http":
        return {"kind": "http", "url": src.url}
    return {"kind": "local file", "path": Path(src.path).name}


def describe_search(search: dict) -> str:
    """How the candidates were found, from the search settings the card was made with."""
    if search.get("index") == "ivf":
        return (
            f"approximate: faiss IndexIVFFlat (nlist {search['nlist']}, nprobe {search['nprobe']}), "
            "candidates rescored exactly in float64"
        )
    return "exact inner product (faiss IndexFlatIP on CPUs, a torch matmul on a GPU), rescored exactly in float64"


def evaluation_section(result: dict) -> tuple[dict, str]:
    """The card's account of the evaluate stage: the shipped variant's scores beside the
    others' (YAML metadata, and a Markdown section)."""
    main = result["main_metric"]
    variants = {v: result["variants"][v] for v in result["order"]}
    scores = {v: {k: round(r["metrics"][k]["mean"], 4) for k in METRICS} for v, r in variants.items()}
    meta = {"shipped_variant": "shipped", "held_out_queries": result["queries"], "scores": scores}
    rows = [
        f"| {v}{' (this file)' if v == 'shipped' else ''} | "
        + " | ".join(interval_cell(r["metrics"][k]) for k in METRICS)
        + " |"
        for v, r in variants.items()
    ]
    metrics = METRICS
    section = f"""
## Evaluation

The model above, fine-tuned on these rows (`shipped`) and on other variants, scored on
{result["queries"]} held-out queries ({result["held_out"]["source"]}) that no variant trained on; mean
and 95% bootstrap interval. Main metric: {main}.

| variant | {" | ".join(metrics)} |
|---|{"---:|" * len(metrics)}
{chr(10).join(rows)}
"""
    return meta, section


def run(inputs, outputs, job: CardJob, logger=None) -> dict:
    """Write the card ``outputs[0]`` for ``inputs.mined`` from its ``inputs.stats`` (mine)
    and ``inputs.prepare_stats``; returns its YAML metadata."""
    dataset, source, checksum = job.dataset, job.source, job.checksum
    model, search, mining = job.model, job.search, job.mining
    mined_file, out_path = inputs.mined, outputs[0]
    ms, ps = read_json(inputs.stats), read_json(inputs.prepare_stats)
    fmt = mining["output_format"]
    rows = ms["output_rows"]
    src = describe_source(source)
    if checksum:
        src.update(checksum)
    meta = {
        "pretty_name": f"{dataset} with mined hard negatives",
        "language": ["en"],
        "task_categories": ["sentence-similarity", "text-retrieval"],
        "tags": ["hard-negatives", "embedding-training", "hardneg-workflow"],
        "size_categories": [size_category(rows)],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": Path(mined_file).name}]}],
        "dataset_info": {"splits": [{"name": "train", "num_examples": rows}]},
        "hardneg": {
            "source": src,
            "model": {k: model[k] for k in ("name_or_path", "max_seq_length", "query_prompt", "passage_prompt")},
            "search": {"method": describe_search(search), **search},
            "mining": mining,
            "counts": {
                "rows_read": ps["rows_read"],
                "queries": ms["queries"],
                "passages": ps["passages"],
                "queries_written": ms["queries_written"],
                "rows": rows,
                "negatives_written": ms["negatives_written"],
                "queries_short": ms["queries_short"],
                "queries_dropped": ms["queries_dropped_below_min_negatives"],
            },
        },
    }
    where = (
        f"`{src['repo_id']}` at revision `{src['revision']}`, file `{src['path']}`"
        if src["kind"] == "huggingface"
        else (f"<{src['url']}>" if src["kind"] == "http" else f"a local file, `{src['path']}`")
    )
    mean = ms["negatives_written"] / ms["queries_written"] if ms["queries_written"] else 0.0
    cells = [ps["rows_read"], ms["queries"], ps["passages"], ms["queries_written"], rows]
    cells = [f"{c:,}" for c in cells] + [f"{mean:.2f}"]
    cells += [f"{ms['queries_short']:,}", f"{ms['queries_dropped_below_min_negatives']:,}"]
    count_row = "| " + " | ".join(cells) + " |"
    heads = ["rows read", "queries", "passages", "queries written", "rows", "mean negatives"]
    heads += [f"short of {mining['num_negatives']}", "dropped"]
    head_row = "| " + " | ".join(heads) + " |"
    on_cpu = model.get("backend", "torch") != "torch"
    backend = f"; on CPU jobs, its graph exported to {model['backend']} (fp32)" if on_cpu else ""
    body = f"""# {dataset} with mined hard negatives

Hard negatives mined for the pairs of **{dataset}**, for training text-embedding models.

- **Source:** {where}.
- **Model:** `{model["name_or_path"]}`, max length {model["max_seq_length"] or "(the model's own)"}, query prompt
  {json.dumps(model["query_prompt"])}, passage prompt {json.dumps(model["passage_prompt"])}{backend}.
- **Search:** {describe_search(search)}; top {search["topk"]} candidates per query.
- **Mining:** ranks {mining["range_min"]}..{mining["range_max"] - 1} ({mining["rank_window"]} window), up to
  {mining["num_negatives"]} negatives per query ({mining["sampling_strategy"]}, seed {mining["seed"]}), positives
  excluded by id and by text; relative margin {_or_none(mining["relative_margin"])}, absolute margin
  {_or_none(mining["absolute_margin"])}.

## Counts

{head_row}
|---:|---:|---:|---:|---:|---:|---:|---:|
{count_row}

## Schema

`{Path(mined_file).name}`: {FORMATS[fmt].describe(bool(mining.get("output_scores")), job.columns)}.

## How it was made

With the hardneg Snakemake workflow: the source was normalized, embedded, searched exactly
and mined; every setting above is also in this card's YAML header (`hardneg:`).
"""
    evaluation = getattr(inputs, "evaluation", None)
    if evaluation:
        meta["hardneg"]["evaluation"], section = evaluation_section(read_json(evaluation))
        body += section
    text = "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n" + body
    with atomic_path(out_path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return meta
