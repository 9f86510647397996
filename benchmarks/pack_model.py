"""Carry a sentence-transformers model folder to the lent GPU machine in under its 64 MiB.

    python benchmarks/pack_model.py pack SRC DEST     # SRC: a model folder or pkg:NAME
    python benchmarks/pack_model.py unpack DEST OUT   # on the GPU machine: a loadable folder

``pack`` copies every file but ``model.safetensors`` and stores its weights in
``weights.npz``: each 2-D float tensor as int8 per row with a float32 scale per row
(symmetric, round to nearest), every other tensor as it is. all-MiniLM-L6-v2's 91 MB become
about 22 MB. ``unpack`` rebuilds float32 ``model.safetensors`` from it, into a hidden folder
renamed into place at the end. The rebuilt model is not the original bit for bit (cosine of
its vectors to the original's is about 0.999): what it is for is speed figures, and the
benchmark's own checks compare the GPU's vectors with this same model's on the CPU.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

WEIGHTS = "model.safetensors"


def pack(src: Path, dest: Path) -> None:
    from safetensors.numpy import load_file

    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns(WEIGHTS, "*.bin", "*.onnx", ".git*", "README.md"))
    arrays = {}
    for name, w in load_file(str(src / WEIGHTS)).items():
        if w.ndim == 2 and w.dtype.kind == "f":
            scale = np.abs(w).max(axis=1).astype(np.float32) / 127
            scale[scale == 0] = 1
            arrays[f"q:{name}"] = np.rint(w / scale[:, None]).astype(np.int8)
            arrays[f"s:{name}"] = scale
        else:
            arrays[f"r:{name}"] = w
    np.savez(tmp / "weights.npz", **arrays)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def unpack(dest: Path, out: Path) -> None:
    from safetensors.numpy import save_file

    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(dest, tmp, ignore=shutil.ignore_patterns("weights.npz"))
    packed = np.load(dest / "weights.npz")
    weights = {}
    for key in packed.files:
        kind, name = key.split(":", 1)
        if kind == "q":
            weights[name] = packed[key].astype(np.float32) * packed[f"s:{name}"][:, None]
        elif kind == "r":
            weights[name] = packed[key]
    save_file(weights, str(tmp / WEIGHTS), metadata={"format": "pt"})
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in ("pack", "unpack"):
        sys.exit(__doc__)
    verb, a, b = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if verb == "pack":
        from hardneg.models import resolve_model_path

        pack(Path(resolve_model_path(a)), b)
    else:
        unpack(Path(a), b)


if __name__ == "__main__":
    main()
