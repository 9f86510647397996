"""The memory the evaluate stage's jobs declare (``mem_mb``), from a fit to measurements.

``benchmarks/bench_eval_memory.py`` measured the peak RSS of ``train`` and
``score`` for all-MiniLM-L6-v2 on the CPU at 128 and 256 tokens and batch 16 and 32
(BENCHMARKS.md), and fitted ``MB = a + b * batch * tokens + c * batch * tokens**2`` (the
last term is attention's). Another model adds its weights beyond MiniLM's (four times over
for training) and scales the batch terms by its weights' size against MiniLM's; the result
gets a 25% margin. On a GPU the activations live in GPU memory,
so these figures over-ask there (a cluster profile can set ``mem_mb`` per rule).

Imported while the DAG is built: nothing heavy.
"""

from __future__ import annotations

from pathlib import Path

from .models import looks_like_path

# (a, b, c) per job, MB. train: the least-squares fit over the four measured points
# (residuals under 35 MB). score: its peak followed neither batch nor tokens (1,100 to
# 1,347 MB), so the largest figure.
FIT = {
    "train": (849.0, 0.6829, 0.002604),
    "score": (1347.0, 0.0, 0.0),
}
# MB of memory per MB of weights beyond MiniLM's: training holds weights, gradients and
# Adam's two moments; scoring the weights
PER_WEIGHT_MB = {"train": 4, "score": 1}
MINILM_MB = 87  # all-MiniLM-L6-v2's model.safetensors, the model of the fit
UNKNOWN_MODEL_MB = 440  # bge-base-en-v1.5's weights: assumed for a model not on this machine
MARGIN = 1.25
WEIGHT_FILES = ("*.safetensors", "*.bin")


def model_size_mb(name_or_path: str) -> float:
    """MB of a model's weight files when they are on this machine (a ``pkg:`` model, a
    folder), else :data:`UNKNOWN_MODEL_MB`."""
    folder = None
    if name_or_path.startswith("pkg:"):
        try:
            from .models import resolve_model_path

            folder = Path(resolve_model_path(name_or_path))
        except Exception:  # planning reports a missing package; here it is only a size
            return UNKNOWN_MODEL_MB
    elif looks_like_path(name_or_path):
        folder = Path(name_or_path).expanduser()
    if folder is None or not folder.is_dir():
        return UNKNOWN_MODEL_MB
    size = sum(p.stat().st_size for pattern in WEIGHT_FILES for p in folder.glob(pattern))
    return size / 2**20 if size else UNKNOWN_MODEL_MB


def eval_mem_mb(job: str, *, batch: int, tokens: int, model_mb: float) -> int:
    """``mem_mb`` of one ``train`` or ``score`` job."""
    a, b, c = FIT[job]
    weights = PER_WEIGHT_MB[job] * max(0.0, model_mb - MINILM_MB)
    scale = max(1.0, model_mb / MINILM_MB)
    return int(MARGIN * (a + weights + scale * batch * tokens * (b + c * tokens)))
