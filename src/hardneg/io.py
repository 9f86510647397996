"""Small I/O helpers shared by every stage: atomic writes, logging, JSON."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from pathlib import Path


class InputError(ValueError):
    """Bad input data. The message names the file (and line, where there is one)."""


def describe_error(exc: BaseException, limit: int = 200) -> str:
    """``Type: message`` of a library's exception on one line, cut to ``limit`` characters."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike):
    """Yield a temporary path next to ``final``; rename it onto ``final`` on success.

    A killed or failing writer leaves only a ``.tmp`` file behind, never a
    half-written ``final``. The rename is atomic on POSIX file systems.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def keep_freed_memory() -> None:
    """Let this process reuse the memory it frees rather than hand it back to the system at
    once: glibc's malloc keeps freed blocks under 32 MiB in its heaps (trimmed past 1 GiB),
    and Arrow allocates from that malloc. A job that builds and drops large arrays run after
    run (mine) then stops paying a page fault per fresh page; its memory stays near its peak."""
    import ctypes
    import ctypes.util

    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc: its own defaults
        return
    for param, value in ((-1, 1 << 30), (-2, 1 << 28), (-3, 1 << 25)):  # trim, top pad, mmap threshold
        mallopt(param, value)


class BackgroundFile:
    """A file written in order by a thread of its own while the caller makes what comes
    next: at most ``in_flight`` writes wait (each buffer is kept until written), and the
    data is flushed to disk every ``sync_bytes``, so that a closing fsync has little left
    to wait for. ``close()`` waits for every write and raises the first error."""

    def __init__(self, path, in_flight: int = 2, sync_bytes: int = 1 << 28):
        self._fh = open(path, "wb")
        self._pending: deque = deque()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="write")
        self.in_flight, self.sync_bytes, self._unsynced = in_flight, sync_bytes, 0

    def write(self, data) -> None:
        while len(self._pending) >= self.in_flight:
            self._pending.popleft().result()
        self._pending.append(self._thread.submit(self._write, data))

    def _write(self, data) -> None:
        self._fh.write(data)
        self._unsynced += len(data)
        if self._unsynced >= self.sync_bytes:
            self._fh.flush()
            getattr(os, "fdatasync", os.fsync)(self._fh.fileno())  # macOS has fsync alone
            self._unsynced = 0

    def close(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._fh.close()


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike):
    """Yield a new, empty temporary folder next to ``final``; on success it replaces
    ``final`` whole. A killed writer's temporary folders are removed first, so a folder
    appears complete or not at all."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ahead(items: Iterable, depth: int = 2) -> Iterator:
    """``items``, made by a background thread up to ``depth`` items ahead of the caller
    (an error there is raised here, where its item would have come). When the caller
    stops early, the thread stops after the item it is making."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # raised in the caller's thread
            put(("error", exc))

    thread = threading.Thread(target=produce, name="ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as stable, pretty JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text())


def setup_logging(log_path: str | os.PathLike | None, name: str) -> logging.Logger:
    """Log to the rule's ``log:`` file (if any) and to stderr."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    return logger


def run_stage(run, snakemake) -> None:
    """What every Snakemake script does: hand the rule's files and its job
    (``params.job``, built by :class:`hardneg.plan.Plan`) to a stage's ``run(inputs,
    outputs, job, logger)``. A job's ``threads`` become the threads Snakemake gave the
    job. On a known input error, log one clear line and exit 1; on Ctrl-C, one line and
    exit 130. Any other error is a bug, not bad input: its full traceback goes to the
    rule's log file (the file Snakemake points the user to) before the job fails."""
    job = snakemake.params.job
    if "threads" in {f.name for f in fields(job)}:
        job = replace(job, threads=snakemake.threads)
    name = snakemake.rule
    logger = setup_logging(snakemake.log[0] if snakemake.log else None, name)
    try:
        run(snakemake.input, snakemake.output, job, logger)
    except InputError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    except KeyboardInterrupt:
        logger.warning("%s interrupted; what it finished is kept for the next run", name)
        sys.exit(130)
    except BaseException as exc:
        if isinstance(exc, SystemExit) and not exc.code:
            raise
        logger.error("%s failed with an unexpected error:\n%s", name, traceback.format_exc().rstrip())
        raise


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class Progress:
    """Logs ``done/total``, elapsed time, rate and ETA at a steady interval.

    ``total`` may be unknown (None); then ``update`` may pass ``fraction`` (e.g. bytes
    read of a compressed file) to estimate the ETA.
    """

    def __init__(self, logger, label: str, total: int | None = None, unit: str = "rows", interval: float = 30.0):
        self.logger, self.label, self.total, self.unit, self.interval = logger, label, total, unit, interval
        self.start = self._last = time.monotonic()
        self.done = 0

    def update(self, done: int, fraction: float | None = None, force: bool = False) -> None:
        self.done = done
        now = time.monotonic()
        if self.logger is None or (not force and now - self._last < self.interval):
            return
        self._last = now
        self.logger.info("%s", self.line(fraction, now))

    def line(self, fraction: float | None = None, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            fraction = max(fraction or 0.0, min(1.0, self.done / self.total))
        of = f"/{self.total}" if self.total is not None else ""
        pct = f" ({100 * fraction:.1f}%)" if fraction is not None else ""
        eta = ""
        if fraction is not None and fraction > 0:
            eta = f", ETA {_duration(elapsed * (1 - fraction) / fraction)}"
        done = f"{self.label}: {self.done}{of} {self.unit}{pct}"
        return f"{done}, elapsed {_duration(elapsed)}, {rate:,.0f} {self.unit}/s{eta}"

    def finish(self) -> None:
        if self.logger is not None:
            self.logger.info("%s (done)", self.line(1.0 if self.total is None else None))
