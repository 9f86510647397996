"""Small I/O helpers shared by every stage: atomic writes, logging, JSON."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from pathlib import Path


class InputError(ValueError):
    """Bad input data. The message names the file (and line, where there is one)."""


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


def run_script(main, log_path, name: str) -> None:
    """Run a stage's ``main()``; on a known input error, log one clear line and exit 1.

    Unknown errors keep their traceback (they are bugs, not bad input).
    """
    logger = setup_logging(log_path, name)
    try:
        main(logger)
    except InputError as exc:
        logger.error("%s", exc)
        sys.exit(1)
