#!/usr/bin/env bash
# The one command for a lent GPU machine (see ../shared/reference/gpu-device.md): install the
# carried wheels, rebuild the carried model, run bench_gpu.py, and leave its JSON, its log
# and the workflow's logs in $OUT. Carry: .whl benchmarks/.cache/minilm-int8
#   benchmarks/.cache/gpu-data
#   (made here by `pip download`/`pip wheel`, `python benchmarks/pack_model.py pack` and
#   make_realistic_pairs.py ROWS, recompressed with `xz -9` to pairs-ROWS.jsonl.xz).
#     bash benchmarks/device_run.sh [ROWS]
set -uo pipefail
ROWS=${1:-200000}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
t0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
python3 benchmarks/pack_model.py unpack benchmarks/.cache/minilm-int8 /tmp/minilm || exit 1
echo "setup: $(($(date +%s) - t0)) s"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import importlib.metadata as m, torch; print(torch.__version__, *(n + " " + m.version(n) for n in ("sentence-transformers", "transformers", "tokenizers", "snakemake", "huggingface_hub")))"
DATA=benchmarks/.cache/gpu-data/pairs-$ROWS.jsonl.xz
[ -f "$DATA" ] && DATA_ARG="--data $DATA" || DATA_ARG=""
python3 benchmarks/bench_gpu.py --rows "$ROWS" $DATA_ARG --model /tmp/minilm --cores "$(nproc)" --workdir /tmp/wd --workflow-timeout 300 \
    --json "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench_gpu.log"
rc=${PIPESTATUS[0]}
(cd /tmp/wd && tar czf "$OUT/logs.tar.gz" logs snakemake.log 2>/dev/null)
echo "total: $(($(date +%s) - t0)) s, rc $rc"
exit "$rc"
