"""Where raw data comes from: Hugging Face hub (pinned), http(s) with retries and
checksums, or a local path / ``file://`` URL used in place."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..io import atomic_path

HF_RE = re.compile(r"^hf://datasets/(?P<repo>[\w.-]+/[\w.-]+)@(?P<rev>[\w./-]+?)/(?P<path>.+)$")
# a whole repo at a revision: the `table` format reads one split of it (hardneg.data.hub)
HF_REPO_RE = re.compile(r"^hf://datasets/(?P<repo>[\w.-]+/[\w.-]+)@(?P<rev>[\w.-]+)/?$")


class DownloadError(RuntimeError):
    """A source could not be fetched or failed its checksum."""


@dataclass(frozen=True)
class Source:
    kind: str  # "hf", "http" or "local"
    url: str
    repo_id: str = ""
    revision: str = ""
    path: str = ""  # path inside the hub repo ("": the whole repo), or the local path

    @property
    def filename(self) -> str:
        """Base name the downloaded file is stored under (keeps the extension)."""
        if self.kind == "hf":
            return Path(self.path).name
        return Path(urllib.parse.urlparse(self.url).path).name or "download"


def parse_source(source: str) -> Source:
    """Classify a config ``source:`` string. Raises ValueError on a malformed one."""
    if source.startswith("hf://"):
        m = HF_REPO_RE.match(source)
        if m:
            return Source("hf", source, m["repo"], m["rev"], "")
        m = HF_RE.match(source)
        if not m:
            raise ValueError(
                f"source {source!r}: expected hf://datasets/OWNER/NAME@REVISION/PATH (a file) or "
                "hf://datasets/OWNER/NAME@REVISION (a repo, with `split:`) "
                "(the revision pins the file, so cached copies need no network)"
            )
        return Source("hf", source, m["repo"], m["rev"], m["path"])
    if source.startswith(("http://", "https://")):
        return Source("http", source)
    if source.startswith("file://"):
        return Source("local", source, path=urllib.parse.unquote(source[len("file://") :]))
    if "://" in source:
        raise ValueError(f"source {source!r}: unsupported scheme (use hf://, https://, file:// or a path)")
    return Source("local", source, path=source)


def hf_url(src: Source) -> str:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return f"{endpoint}/datasets/{src.repo_id}/resolve/{src.revision}/{src.path}"


def file_digest(path: str | os.PathLike, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_checksum(path, dataset: str, url: str, md5: str | None = None, sha256: str | None = None) -> None:
    for algo, want in (("md5", md5), ("sha256", sha256)):
        if want:
            got = file_digest(path, algo)
            if got.lower() != want.lower():
                raise DownloadError(
                    f"dataset {dataset}: {algo} mismatch for {url}: expected {want}, got {got} "
                    "(corrupt or changed download; nothing was kept)"
                )


def link_or_copy(cached: str | os.PathLike, target: str | os.PathLike) -> None:
    """A cached file at ``target``: a hard link if possible (same file system), else a copy."""
    try:
        os.link(cached, target)
    except OSError:
        shutil.copyfile(cached, target)


def _place(cached: str, dest: str | os.PathLike) -> None:
    """Put a cached file at ``dest`` atomically: hard link if possible, else copy."""
    with atomic_path(dest) as tmp:
        link_or_copy(cached, tmp)


def hf_error(exc: Exception, dataset: str, what: str) -> DownloadError:
    """One line for a failed hub call: what, the error's first line, and what to do."""
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false")
    hint = (
        "HF_HUB_OFFLINE is set and it is not in the cache; download it once with network"
        if offline
        else "no network or the hub is unreachable; set HF_ENDPOINT to a mirror, or pre-download it"
    )
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return DownloadError(f"dataset {dataset}: cannot fetch {what} ({type(exc).__name__}: {first_line}); {hint}")


def download_hf(src: Source, dest, dataset: str, md5=None, sha256=None) -> None:
    """Fetch a pinned hub file via ``huggingface_hub`` (honours HF_HOME, HF_ENDPOINT,
    HF_HUB_OFFLINE) and place it at ``dest``."""
    from huggingface_hub import hf_hub_download

    try:
        cached = hf_hub_download(
            repo_id=src.repo_id,
            filename=src.path,
            repo_type="dataset",
            revision=src.revision,
            etag_timeout=15,
        )
    except Exception as exc:  # the hub raises many types; all mean "not available"
        raise hf_error(exc, dataset, hf_url(src)) from None
    verify_checksum(cached, dataset, src.url, md5, sha256)
    _place(cached, dest)


def download_http(
    url: str,
    dest,
    dataset: str,
    md5=None,
    sha256=None,
    *,
    tries: int = 5,
    timeout: float = 30.0,
    backoff: float = 2.0,
    deadline: float | None = None,
) -> None:
    """Stream ``url`` to ``dest`` with bounded retries and exponential backoff.

    The file is written to a temp name, checked, then renamed; a partial or corrupt
    download never appears at ``dest``. ``deadline`` (seconds) caps the total time.
    """
    start = time.monotonic()
    last: Exception | None = None
    for attempt in range(1, tries + 1):
        try:
            with atomic_path(dest) as tmp:
                req = urllib.request.Request(url, headers={"User-Agent": "hardneg-workflow"})
                with urllib.request.urlopen(req, timeout=timeout) as resp, open(tmp, "wb") as out:
                    expected = resp.headers.get("Content-Length")
                    n = 0
                    for chunk in iter(lambda: resp.read(1 << 20), b""):
                        out.write(chunk)
                        n += len(chunk)
                if expected is not None and n != int(expected):
                    raise DownloadError(f"dataset {dataset}: truncated download of {url}: {n} of {expected} bytes")
                verify_checksum(tmp, dataset, url, md5, sha256)
            return
        except DownloadError:
            raise
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise DownloadError(f"dataset {dataset}: cannot fetch {url}: HTTP {exc.code} {exc.reason}") from None
            last = exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            last = exc
        wait = backoff ** (attempt - 1)
        if attempt == tries or (deadline is not None and time.monotonic() - start + wait > deadline):
            break
        time.sleep(wait)
    raise DownloadError(f"dataset {dataset}: cannot fetch {url} after {attempt} attempt(s): {last}")


def fetch(source: str, dest, dataset: str, md5=None, sha256=None) -> None:
    """Download ``source`` (hf or http) to ``dest``."""
    src = parse_source(source)
    if src.kind == "hf":
        download_hf(src, dest, dataset, md5, sha256)
    elif src.kind == "http":
        download_http(src.url, dest, dataset, md5, sha256)
    else:
        raise ValueError(f"dataset {dataset}: {source!r} is a local path; nothing to download")
