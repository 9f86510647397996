"""Check the GPU embed path: fp16 on CUDA against fp32 on CPU, on the same shard.

Runs the workflow's own embed stage (``hardneg.embed.run``) twice on the GPU and once on the CPU and prints
the device, dtype, throughput, GPU-run reproducibility and the CPU/GPU cosine agreement.
Usage: python benchmarks/gpu_check.py MODEL_PATH TABLE_DIR [OUT_DIR]
(TABLE_DIR holds a prepared dataset's queries.parquet and passages.parquet).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np  # noqa: E402
from stages import embed_shard  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hardneg.embed import load_model  # noqa: E402
from hardneg.options import ModelOptions  # noqa: E402


def run(model, tables: Path, out: Path, tag: str, device: str, block_rows: int) -> tuple[float, np.ndarray]:
    os.environ["HARDNEG_DEVICE"] = device
    cfg = {"name_or_path": model, "max_seq_length": 128, "batch_size": 128}
    t = time.perf_counter()
    embed_shard(
        tables / "queries.parquet",
        tables / "passages.parquet",
        out / f"{tag}_q.npy",
        out / f"{tag}_p.npy",
        cfg,
        block_rows=block_rows,
        threads=4,
    )
    return time.perf_counter() - t, np.load(out / f"{tag}_p.npy")


def main() -> None:
    model, tables = sys.argv[1], Path(sys.argv[2])
    out = Path(sys.argv[3] if len(sys.argv) > 3 else "gpu_check_out")
    out.mkdir(parents=True, exist_ok=True)
    import torch

    print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())
    if torch.cuda.is_available():
        print("device:", torch.cuda.get_device_name(0))
        m = load_model(ModelOptions(name_or_path=model, max_seq_length=128))
        print("auto-picked device:", m.device, "dtype:", next(m.parameters()).dtype)
    results = {}
    for tag, device in (("gpu1", "cuda"), ("gpu2", "cuda"), ("cpu", "cpu")):
        if device == "cuda" and not torch.cuda.is_available():
            continue
        secs, p = run(model, tables, out, tag, device, block_rows=8192)
        results[tag] = p
        norms = np.linalg.norm(p, axis=1)
        print(
            f"{tag}: {len(p)} passages in {secs:.2f}s (incl. model load), dtype {p.dtype}, "
            f"norm min/max {norms.min():.4f}/{norms.max():.4f}"
        )
    if "gpu1" in results:
        print("gpu run 1 == run 2 (bytes):", np.array_equal(results["gpu1"], results["gpu2"]))
        cos = (results["gpu1"].astype(np.float64) * results["cpu"]).sum(1)
        print(f"cosine(gpu fp16, cpu fp32): min {cos.min():.6f} mean {cos.mean():.6f}")


if __name__ == "__main__":
    main()
