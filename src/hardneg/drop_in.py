"""``hardneg.mine_hard_negatives``: sentence-transformers' call, run by this workflow.

Swap ``from sentence_transformers.util import mine_hard_negatives`` for ``from hardneg
import mine_hard_negatives``: the parameters it shares with sentence-transformers keep
their names, defaults and meanings, and it returns a ``datasets.Dataset`` of the same
shape. The work runs as ``hardneg mine`` would (:mod:`hardneg.cli`) in ``cache_folder``,
so a second call on the same data re-uses the cached vectors and candidates, and a call
cut short by Ctrl-C continues where it stopped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter
from pathlib import Path

from .cli import Request, mine

# sentence-transformers' parameters that change nothing here (its own speed knobs)
SPEED_ONLY = ("faiss_batch_size", "use_faiss", "use_multi_process")
ST_FORMATS = ("triplet", "n-tuple", "labeled-pair", "labeled-list")


def default_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "hardneg" / "mine_hard_negatives"


def _keep(tmp: Path, final: Path) -> Path:
    """``tmp`` (a file or folder named by its content) renamed onto ``final``, or dropped
    where an earlier call kept the same content there."""
    if not final.exists():
        os.replace(tmp, final)
    elif tmp.is_dir():
        shutil.rmtree(tmp)
    else:
        tmp.unlink()
    return final


def _model_path(model, cache: Path) -> tuple[str, int | None]:
    """A model name or path for the workflow, and its max_seq_length. A loaded
    SentenceTransformer is saved once under a hash of its files, so a changed model never
    meets another's cached vectors."""
    from .data.sources import file_digest

    if isinstance(model, str | os.PathLike):
        return str(model), None
    tmp = cache / "models" / f".saving-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp))
    digest = hashlib.sha256()
    for f in sorted(p for p in tmp.rglob("*") if p.is_file()):
        digest.update(f"{f.relative_to(tmp).as_posix()}\0{file_digest(f, 'sha256')}\0".encode())
    return str(_keep(tmp, cache / "models" / digest.hexdigest()[:16])), model.max_seq_length


def _input_file(dataset, columns: list[str], cache: Path) -> Path:
    """The dataset's two columns as a parquet file named by its bytes (kept once)."""
    import pyarrow.parquet as pq

    from .data.sources import file_digest

    inputs = cache / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    tmp = inputs / f".writing-{os.getpid()}.parquet"
    pq.write_table(dataset.select_columns(columns).with_format("arrow")[:], tmp)
    return _keep(tmp, inputs / f"{file_digest(tmp, 'sha256')[:16]}.parquet")


def mine_hard_negatives(
    dataset,
    model,
    *,
    anchor_column_name: str | None = None,
    positive_column_name: str | None = None,
    range_min: int = 0,
    range_max: int | None = None,
    max_score: float | None = None,
    min_score: float | None = None,
    absolute_margin: float | None = None,
    relative_margin: float | None = None,
    num_negatives: int = 3,
    sampling_strategy: str = "top",
    query_prompt: str | None = None,
    corpus_prompt: str | None = None,
    output_format: str = "triplet",
    output_scores: bool = False,
    batch_size: int = 32,
    verbose: bool = True,
    cache_folder: str | os.PathLike | None = None,
    cores: int | None = None,
    **unsupported,
):
    """Mine hard negatives for the (anchor, positive) pairs of ``dataset``, a
    ``datasets.Dataset``, with ``model`` (a SentenceTransformer, or a hub id or folder).

    The shared parameters are sentence-transformers': the anchor and positive columns (by
    default the first two), the window ``range_min``..``range_max`` over the candidates
    left after positives and filters (``range_max`` none: ``range_min + num_negatives``
    plus the most positives of an anchor, ten times ``num_negatives`` with a margin or
    ``max_score``), the score and margin filters, ``num_negatives``, ``sampling_strategy``
    (``top`` or ``random``), the prompts, ``output_format`` (``triplet``, ``n-tuple``,
    ``labeled-pair`` or ``labeled-list``), ``output_scores`` and ``batch_size`` (texts per
    forward pass). Identical anchors pool their positives, as there. ``faiss_batch_size``,
    ``use_faiss`` and ``use_multi_process`` are accepted and change nothing. Every
    parameter after ``model`` is passed by name.

    ``cache_folder``: the run folder (default ``~/.cache/hardneg/mine_hard_negatives``):
    its ``mined/`` holds the file, its card and plots; ``cores``: CPU cores (default all).
    ``verbose``: print the run's progress. Returns the mined rows as a ``datasets.Dataset``.
    """
    from datasets import Dataset

    unknown = sorted(k for k, v in unsupported.items() if k not in SPEED_ONLY and v not in (None, False))
    if unknown:
        raise TypeError(f"hardneg.mine_hard_negatives does not support {', '.join(unknown)}")
    if output_format not in ST_FORMATS:
        raise ValueError(f"output_format must be one of {', '.join(ST_FORMATS)}, got {output_format!r}")
    cols = dataset.column_names
    anchor = anchor_column_name or cols[0]
    positive = positive_column_name or cols[1]
    for name in (anchor, positive):
        if name not in cols:
            raise ValueError(f"the dataset has no column {name!r}; its columns: {', '.join(cols)}")
    cache = Path(cache_folder or default_cache()).expanduser().resolve()
    name_or_path, max_seq_length = _model_path(model, cache)
    most = max(Counter(dataset[anchor]).values(), default=1)  # positives of one anchor, at most
    if range_max is None:
        wide = any(x is not None for x in (absolute_margin, relative_margin, max_score))
        range_max = range_min + num_negatives * (10 if wide else 1) + most
    settings = {
        "model.batch_size": batch_size,
        "model.max_seq_length": max_seq_length,
        "model.query_prompt": query_prompt or "",
        "model.passage_prompt": corpus_prompt or "",
        "search.topk": range_max + most,  # ST's window leaves the positives out: fetch past them
        "mining.rank_window": "filtered",
        "mining.group_identical_queries": True,
        "mining.sampling_strategy": sampling_strategy,
        "mining.range_min": range_min,
        "mining.range_max": range_max,
        "mining.num_negatives": num_negatives,
        "mining.output_scores": output_scores,
        **{f"mining.{k}": v for k, v in (("max_score", max_score), ("min_score", min_score),
                                         ("absolute_margin", absolute_margin), ("relative_margin", relative_margin))},
    }  # fmt: skip
    req = Request(
        source=str(_input_file(dataset, [anchor, positive], cache)),
        model=name_or_path,
        output=cache,
        name="dataset",
        output_format=output_format,
        query_column=anchor,
        positive_column=positive,
        settings=tuple(settings.items()),
    )
    try:
        path = mine(req, cores, echo="steps" if verbose else "none")
    except SystemExit as exc:  # the command's exit, as a Python caller expects it
        if exc.code == 130:
            raise KeyboardInterrupt from None
        raise RuntimeError(f"hardneg.mine_hard_negatives failed; the log is {cache / 'hardneg.log'}") from None
    return Dataset.from_parquet(str(path), cache_dir=str(cache / "hf-cache"))
