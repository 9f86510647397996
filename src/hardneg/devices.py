"""Where a job computes: a GPU of its own when it has one, else the CPU.

Used by embed, search and rescore. ``HARDNEG_DEVICE`` overrides the choice; on a machine
with several GPUs each job takes the first free one through a per-GPU lock file, held
until the process ends, so ``snakemake --resources gpu=4`` never puts two jobs on one GPU.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path

_SLOT = None  # the open lock file of this process's GPU slot, held until it exits


def gpu_lock_dir() -> Path:
    return Path(os.environ.get("HARDNEG_GPU_LOCK_DIR") or Path(tempfile.gettempdir()) / f"hardneg-gpu-{os.getuid()}")


def acquire_gpu_slot(n_devices: int, lock_dir: Path | None = None, wait: float | None = None) -> int | None:
    """Take the first free GPU of ``n_devices`` on this machine: an exclusive ``flock`` on
    ``lock_dir/gpu{i}.lock``, held by the returned open file until the process ends.
    Waits up to ``wait`` seconds (None: forever) for a slot to free."""
    global _SLOT
    lock_dir = Path(lock_dir or gpu_lock_dir())
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        for i in range(n_devices):
            fh = open(lock_dir / f"gpu{i}.lock", "a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            _SLOT = fh
            return i
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(0.5)


def release_gpu_slot() -> None:
    global _SLOT
    if _SLOT is not None:
        fcntl.flock(_SLOT, fcntl.LOCK_UN)
        _SLOT.close()
        _SLOT = None


# A Linux machine whose torch could see a GPU has one of these: NVIDIA's driver (CUDA) or
# the AMD kernel driver (ROCm builds also answer through torch.cuda).
GPU_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/kfd")


def no_gpu_driver() -> bool:
    """True on a Linux machine with no GPU driver, where ``torch.cuda`` cannot find a GPU:
    ``auto`` then answers the CPU without importing torch (2 to 3 s per job)."""
    return sys.platform.startswith("linux") and not any(os.path.exists(f) for f in GPU_DRIVER_FILES)


def pick_device(setting: str = "auto") -> str:
    """``setting`` unless it is ``auto``; else ``HARDNEG_DEVICE`` if set; else a free GPU of
    this machine (see :func:`acquire_gpu_slot`; under SLURM only the job's own GPUs are
    visible); else the CPU (also when torch is not installed or no GPU driver is)."""
    if setting != "auto":
        return setting
    if os.environ.get("HARDNEG_DEVICE"):
        return os.environ["HARDNEG_DEVICE"]
    if no_gpu_driver():
        return "cpu"
    try:
        import torch
    except ImportError:
        return "cpu"
    if not torch.cuda.is_available():
        return "cpu"
    n = torch.cuda.device_count()
    if n == 1:
        return "cuda:0"
    return f"cuda:{acquire_gpu_slot(n)}"
