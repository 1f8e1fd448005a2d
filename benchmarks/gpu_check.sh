#!/usr/bin/env bash
# The GPU path's check (issue 12), one prepared script for a machine with a CUDA GPU, from the repository root:
#   bash benchmarks/gpu_check.sh [OUT]
# 1. the demo's 200 test videos on the GPU vs the CPU (videos/s, GPU memory, score agreement; fp32, bf16, fp16);
# 2. benchmarks/speed.py on CUDA (tutorial way vs evaluate, model alone, decode workers with tiny_c3d).
# Where the machine lacks PyAV/PyTorchVideo, put their wheels in .whl/ (see the device notes in README).
set -euo pipefail
OUT=${1:-${OUT:-/tmp/gpu_check}}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD/src
else
  export PYTHONPATH=$PWD/src
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
$PY -c "import torch, torchvision, av; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'av', av.__version__, 'cpus', __import__('os').cpu_count())" | tee -a "$OUT/gpu.txt"
$PY benchmarks/gpu_agreement.py --out "$OUT/work" > "$OUT/agreement.json" 2> "$OUT/agreement.log" || { tail -30 "$OUT/agreement.log"; exit 1; }
cat "$OUT/agreement.json"
$PY benchmarks/speed.py --device cuda --workers 1,4,8 --worker-videos 24 > "$OUT/speed.json" 2> "$OUT/speed.log" || { tail -30 "$OUT/speed.log"; exit 1; }
cat "$OUT/speed.json"
rm -rf "$OUT/work"
