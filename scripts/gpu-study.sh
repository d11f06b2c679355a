#!/usr/bin/env bash
# The GPU checks of the worker and the reading-phase study, as one run for a GPU box that has PyTorch, transformers
# and peft (Node is not needed there):
#   bash scripts/gpu-study.sh INPUTS OUT
# INPUTS is a folder prepared on a machine with Node first:
#   npx tsx scripts/export-reading-phase.ts models/crossmon-base INPUTS/study 300
#   cp models/crossmon-base/work/phase2/checkpoint/params.safetensors INPUTS/study/phase2.safetensors
#   cp models/crossmon-base/work/phase3/metrics.jsonl INPUTS/study/shipped-metrics.jsonl
#   $CROSSMON_PYTHON python/device_worker_check.py record INPUTS/worker-expected.json
# Results land in OUT (worker-check.json, adapter/, study.jsonl, study.log). Back on the first machine:
#   npx tsx scripts/gpu-adapter-check.ts OUT/adapter INPUTS/worker-expected.json   (the engine scores that adapter)
set -uo pipefail
if [ $# -ne 2 ]; then echo "usage: bash scripts/gpu-study.sh INPUTS OUT" >&2; exit 2; fi
inputs=$1
out=$2
mkdir -p "$out"
nvidia-smi -L
python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, torch.cuda.get_device_name(0))"
python3 python/device_worker_check.py check "$inputs/worker-expected.json" "$out" 2>"$out/worker.log" | cut -c1-3000
PYTHONUNBUFFERED=1 python3 python/reading_phase_study.py "$inputs/study" models/crossmon-base "$out" --budget-s "${STUDY_BUDGET_S:-300}" --runs \
  check:shipped:2000:5 shipped:shipped:2000 s1:1:2000 s2:2:2000 s3:3:2000 long1:1:6000 long2:2:6000 s4:4:2000 long3:3:6000 s5:5:2000 vlong1:1:12000 \
  2>&1 | tee "$out/study.log" | grep -v "Loading weights"
