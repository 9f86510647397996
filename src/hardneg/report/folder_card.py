"""The output folder's own ``README.md``: the folder is one Hugging Face dataset whose
configs are the mined datasets, so ``datasets.load_dataset(OUTPUT_DIR, "squad_pairs")``
loads one of them and ``hf upload REPO OUTPUT_DIR --repo-type dataset`` publishes it as is.

Built from the datasets' own cards (:mod:`hardneg.report.card`): their YAML headers give each
config's data files, row count, output shape and source.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..io import atomic_path
from .card import size_category

if TYPE_CHECKING:
    from ..stages.folder_card import FolderCardJob


def front_matter(path) -> dict:
    """The YAML header of a card (between its first two ``---`` lines)."""
    text = Path(path).read_text(encoding="utf-8")
    head, sep, _ = text.removeprefix("---\n").partition("\n---\n")
    if not text.startswith("---\n") or not sep:
        raise ValueError(f"{path}: no YAML header (a card starts with a --- line)")
    return yaml.safe_load(head)


def _source(src: dict) -> str:
    if src["kind"] == "huggingface":
        return f"`{src['repo_id']}@{src['revision'][:12]}`"
    return f"<{src['url']}>" if src["kind"] == "http" else f"`{src['path']}` (local)"


def _file_kind(files: list) -> str:
    """The `datasets` builder of a config's files: ``json`` or ``parquet``."""
    suffix = Path(files[0]["path"]).suffix
    return "parquet" if suffix == ".parquet" else "json"


def run(inputs, outputs, job: FolderCardJob, logger=None) -> dict:
    """Write ``outputs[0]`` (the folder's README.md) from ``inputs.cards``, one card per
    dataset of ``options.datasets`` in the same order; returns its YAML metadata."""
    cards = list(inputs.cards)
    if len(cards) != len(job.datasets):
        raise ValueError(f"{len(cards)} cards for {len(job.datasets)} datasets")
    configs, lines, apart, total, kind = [], [], [], 0, None
    for name, card in zip(job.datasets, cards, strict=True):
        meta = front_matter(card)
        files = meta["configs"][0]["data_files"]
        rows = meta["dataset_info"]["splits"][0]["num_examples"]
        hn = meta["hardneg"]
        total += rows
        paths = ", ".join(f"`{f['path']}`" for f in files)
        row = f"| `{name}` | {paths} | {hn['mining']['output_format']} | {rows:,} | {_source(hn['source'])} |"
        row += f" [card]({Path(card).name}) |"
        this = _file_kind(files)
        kind = kind or this
        if this == kind:
            configs.append({"config_name": name, "data_files": files})
            lines.append(row)
        else:
            apart.append((name, files[0]["path"], this, row))
    meta = {
        "pretty_name": "Mined hard negatives",
        "language": ["en"],
        "task_categories": ["sentence-similarity", "text-retrieval"],
        "tags": ["hard-negatives", "embedding-training", "hardneg-workflow"],
        "size_categories": [size_category(total)],
        "configs": configs,
    }
    body = (
        f"""# Mined hard negatives

{len(configs)} datasets with hard negatives mined by the hardneg Snakemake workflow, one
config each. Load one with `datasets.load_dataset("PATH_OR_REPO", "NAME")`; each dataset's
card (linked below) gives its source, model, settings, counts and schema.

| config | file | shape | rows | source | card |
|---|---|---|---:|---|---|
"""
        + "\n".join(lines)
        + "\n"
    )
    if apart:
        # `datasets` reads every config of a folder with one builder (the first config's)
        body += (
            f"""
## Files of another kind

`datasets` reads all configs of one folder with the same file reader, and these datasets'
files are not {kind} like the configs above, so they are not configs here. Load one with
`datasets.load_dataset("{apart[0][2]}", data_files="{apart[0][1]}")`.

| dataset | file | shape | rows | source | card |
|---|---|---|---:|---|---|
"""
            + "\n".join(line for *_, line in apart)
            + "\n"
        )
        if logger:
            logger.warning("folder card: %s are not configs (not %s files)", ", ".join(n for n, *_ in apart), kind)
    text = "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n" + body
    with atomic_path(outputs[0]) as tmp:
        tmp.write_text(text, encoding="utf-8")
    if logger:
        logger.info("folder card: %d configs, %s rows", len(configs), f"{total:,}")
    return meta
