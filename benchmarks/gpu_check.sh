#!/usr/bin/env bash
# GPU check: the tests marked `gpu`, then the quick speed benchmark on one CUDA device.
#
#   bash benchmarks/gpu_check.sh            # from the repository root or anywhere
#   CUDA_VISIBLE_DEVICES=1 bash benchmarks/gpu_check.sh
#
# Budget: under 5 minutes on one GPU (each step has its own time limit). It fails at once,
# with a message, when torch sees no CUDA device: the gpu tests skip themselves without a GPU,
# so a silent pass would prove nothing. Results: benchmarks/results/speed_<section>_gpu.csv/.log
# (gru, ttq: the demo's whole fits, throughput) and the printed tables; copy the numbers into
# docs/results.md's Speed section (GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

if ! "$PYTHON" - <<'EOF'
import sys

import torch

if not torch.cuda.is_available():
    sys.exit(f"gpu_check: FAIL - no CUDA device visible to torch {torch.__version__} "
             f"(CUDA build: {torch.version.cuda}). Run this on a machine with a GPU.")
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
EOF
then
    exit 1
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,utilization.gpu \
    --format=csv,noheader || true

start=$(date +%s)
echo "== pytest -m gpu"
# -rs lists skips; a run in which every gpu test skipped is a failure here.
log=$(mktemp)
set +e
timeout 120 "$PYTHON" -m pytest -m gpu -q -rs -p no:cacheprovider | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo "gpu_check: FAIL - pytest -m gpu exited with $status" >&2
    exit 1
fi
if ! grep -Eq '[0-9]+ passed' "$log"; then
    echo "gpu_check: FAIL - no gpu test passed (all skipped or none collected)" >&2
    exit 1
fi

echo "== benchmarks/speed.py --quick --device cuda"
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" timeout 170 "$PYTHON" benchmarks/speed.py --quick \
    --device cuda --tag gpu
echo "gpu_check: PASS in $(( $(date +%s) - start )) s"
