#!/usr/bin/env bash
# The worker on a GPU box that has PyTorch, transformers and peft (Node is not needed there):
#   bash scripts/gpu-worker-check.sh INPUTS OUT
# INPUTS is a folder prepared on a machine with Node first:
#   $CROSSMON_PYTHON python/gpu_worker_check.py record INPUTS/worker-expected.json
# Results land in OUT (worker-check.json, adapter/, worker.log). Back on the first machine:
#   npx tsx scripts/gpu-adapter-check.ts OUT/adapter INPUTS/worker-expected.json   (the engine scores that adapter)
set -uo pipefail
if [ $# -ne 2 ]; then echo "usage: bash scripts/gpu-worker-check.sh INPUTS OUT" >&2; exit 2; fi
inputs=$1
out=$2
mkdir -p "$out"
nvidia-smi -L
python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, torch.cuda.get_device_name(0))"
python3 python/gpu_worker_check.py check "$inputs/worker-expected.json" "$out" 2>"$out/worker.log" | cut -c1-3000
