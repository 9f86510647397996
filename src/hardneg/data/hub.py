"""A split of a Hugging Face dataset repo: which of its files make up ``split`` (and
``subset``), found the way ``datasets`` lays repos out, and fetched at a pinned revision
through huggingface_hub's download cache.

The layout rules, in the order ``datasets`` tries them:

1. the README's YAML ``configs:`` (``config_name``, ``data_files`` as a pattern, a list of
   them, or ``{split, path}`` entries; ``subset`` picks the config, else the one marked
   ``default`` or the only one);
2. sharded names, ``data/{split}-00000-of-00003.parquet``;
3. the split's name (or a synonym: ``dev`` for validation...) as a folder;
4. the split's name in a file name;
5. every data file is ``train``.

Only table files (:data:`hardneg.data.tables.KINDS`) are data files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

import yaml

from ..io import InputError, atomic_dir
from .sources import link_or_copy
from .tables import file_kind

SPLIT_KEYWORDS = {
    "train": ["train", "training"],
    "validation": ["validation", "valid", "dev", "val"],
    "test": ["test", "testing", "eval", "evaluation"],
}
SEP = "-._ 0-9"  # what may stand around a split's name in a path
SHARDED = re.compile(r"^data/(?P<split>\w+)-\d{5}-of-\d{5}[^/]*$")
IGNORED = {"README.md", "config.json", "dataset_info.json", "dataset_infos.json", "dataset_dict.json"}


def glob_regex(pattern: str) -> re.Pattern:
    """A repo-path glob as ``datasets`` (fsspec) reads it: ``**`` spans folders, ``*`` and
    ``?`` stay within one, ``[...]`` is a class."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            out.append("[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def data_files(files) -> list[str]:
    """The repo paths that can hold rows: table files, not hidden, not a card or config."""
    keep = []
    for f in files:
        parts = PurePosixPath(f).parts
        if f in IGNORED or any(p.startswith((".", "__")) for p in parts):
            continue
        if file_kind(Path(f))[0] is not None:
            keep.append(f)
    return sorted(keep)


def _match(files, patterns) -> list[str]:
    regexes = [glob_regex(p.lstrip("/")) for p in patterns]
    return [f for f in files if any(r.match(f) for r in regexes)]


def _default_layout(files) -> dict[str, list[str]]:
    """split -> files for a repo without ``configs:`` (rules 2 to 5)."""
    sharded = {}
    for f in files:
        m = SHARDED.match(f)
        if m:
            sharded.setdefault(m["split"], []).append(f)
    if sharded:
        return sharded
    dir_patterns = ("**/{k}/**", "**/{k}[{s}]*/**", "**/*[{s}]{k}/**")
    name_patterns = ("**/{k}[{s}]*", "**/*[{s}]{k}[{s}]*")
    for base in (dir_patterns, name_patterns):
        found = {}
        for split, keywords in SPLIT_KEYWORDS.items():
            pats = [p.format(k=k, s=SEP) for k in keywords for p in base]
            hits = _match(files, pats)
            if hits:
                found[split] = hits
        if found:
            return found
    return {"train": list(files)} if files else {}


def card_configs(readme: str | None) -> list[dict]:
    """The ``configs:`` list of a dataset card's YAML header (empty when it has none)."""
    if not readme or not readme.startswith("---"):
        return []
    end = readme.find("\n---", 3)
    if end < 0:
        return []
    try:
        header = yaml.safe_load(readme[3:end]) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"README.md: unreadable YAML header ({exc})") from None
    configs = header.get("configs") if isinstance(header, dict) else None
    return [c for c in configs if isinstance(c, dict)] if isinstance(configs, list) else []


def _config_layout(config: dict, files) -> dict[str, list[str]]:
    spec = config.get("data_files")
    if spec is None:
        return _default_layout(files)
    if isinstance(spec, str | dict):
        spec = [spec]
    layout: dict[str, list[str]] = {}
    for entry in spec:
        split, paths = ("train", entry) if isinstance(entry, str) else (entry.get("split", "train"), entry.get("path"))
        patterns = [paths] if isinstance(paths, str) else list(paths or [])
        layout.setdefault(str(split), []).extend(_match(files, patterns))
    return {s: sorted(set(fs)) for s, fs in layout.items()}


def split_layout(files, readme: str | None, subset: str | None, repo: str) -> dict[str, list[str]]:
    """split -> data files of ``subset`` (or the default config) in a repo listing."""
    files = data_files(files)
    configs = card_configs(readme)
    if not configs:
        if subset:
            raise InputError(f"{repo}: subset {subset!r} given, but the README declares no `configs:`")
        return _default_layout(files)
    names = [str(c.get("config_name", "default")) for c in configs]
    if subset:
        if subset not in names:
            raise InputError(f"{repo}: no subset {subset!r}; the subsets are {', '.join(names)}")
        chosen = configs[names.index(subset)]
    else:
        defaults = [c for c in configs if c.get("default")] or [
            c for c in configs if c.get("config_name", "default") == "default"
        ]
        if len(configs) == 1:
            defaults = configs
        if not defaults:
            raise InputError(f"{repo}: it has subsets {', '.join(names)}; set `subset:` to one of them")
        chosen = defaults[0]
    return _config_layout(chosen, files)


def split_files(files, readme, split: str, subset: str | None, repo: str) -> list[str]:
    """The data files of ``split``; a split the repo lacks fails, listing those it has."""
    layout = split_layout(files, readme, subset, repo)
    hits = layout.get(split)
    if not hits:
        have = ", ".join(s for s, fs in layout.items() if fs) or "none (no data files)"
        raise InputError(f"{repo}: no split {split!r}; the splits are {have}")
    return hits


def _listing(repo: str, revision: str) -> tuple[list[str], str | None]:
    """(repo paths, README text) at ``revision``, from the hub: both of the one commit
    the revision names now."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.hf_api import RepoFile

    api = HfApi()
    sha = api.repo_info(repo, repo_type="dataset", revision=revision).sha
    files = [
        f.path
        for f in api.list_repo_tree(repo, repo_type="dataset", revision=sha, recursive=True)
        if isinstance(f, RepoFile)
    ]
    readme = None
    if "README.md" in files:
        readme = Path(hf_hub_download(repo, "README.md", repo_type="dataset", revision=sha)).read_text()
    return files, readme


def _cached_listing(repo: str, revision: str) -> tuple[list[str], str | None]:
    """(repo paths, README text) from the download cache alone (offline)."""
    from huggingface_hub import snapshot_download

    folder = Path(
        snapshot_download(repo, repo_type="dataset", revision=revision, local_files_only=True, allow_patterns=[])
    )
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    readme = (folder / "README.md").read_text() if (folder / "README.md").is_file() else None
    return files, readme


def fetch_split(repo: str, revision: str, split: str, subset: str | None, dest) -> list[str]:
    """Fetch every data file of the split into the cache and link them under ``dest`` (a
    folder, laid out as in the repo; it appears whole or not at all). Returns their paths."""
    from huggingface_hub import constants, snapshot_download

    offline = constants.HF_HUB_OFFLINE
    files, readme = (_cached_listing if offline else _listing)(repo, revision)
    try:
        chosen = split_files(files, readme, split, subset, repo)
    except InputError as exc:
        if offline:
            raise InputError(f"{exc} (HF_HUB_OFFLINE: only the files in the download cache were looked at)") from None
        raise
    folder = Path(
        # by the revision as given, so that the cache records it (offline runs look it up)
        snapshot_download(repo, repo_type="dataset", revision=revision, allow_patterns=chosen, local_files_only=offline)
    )
    with atomic_dir(dest) as tmp:
        for rel in chosen:
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(os.path.realpath(folder / rel), target)
    return chosen
