#!/usr/bin/env bash
# The device checks of this project, as one prepared run for the GPU machine (the `device` tool), which has PyTorch,
# transformers and peft but no Node. Prepare here first:
#   npx tsx scripts/export-reading-phase.ts models/crossmon-base .device/study 300
#   cp models/crossmon-base/work/phase2/checkpoint/params.safetensors .device/study/phase2.safetensors
#   cp models/crossmon-base/work/phase3/metrics.jsonl .device/study/shipped-metrics.jsonl
#   $CROSSMON_PYTHON python/device_worker_check.py record .device/worker-expected.json
# then run this there with .device carried; results land in $OUT (worker-check.json, adapter/, study.jsonl, study.log).
# Back here: npx tsx scripts/device-adapter-check.ts OUT/adapter (the engine scores the GPU-trained adapter).
set -uo pipefail
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
nvidia-smi -L
python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, torch.cuda.get_device_name(0))"
python3 python/device_worker_check.py check .device/worker-expected.json "$out" 2>"$out/worker.log" | cut -c1-3000
PYTHONUNBUFFERED=1 python3 python/reading_phase_study.py .device/study models/crossmon-base "$out" --budget-s "${STUDY_BUDGET_S:-300}" --runs \
  check:shipped:2000:5 shipped:shipped:2000 s1:1:2000 s2:2:2000 s3:3:2000 long1:1:6000 long2:2:6000 s4:4:2000 long3:3:6000 s5:5:2000 vlong1:1:12000 \
  2>&1 | tee "$out/study.log" | grep -v "Loading weights"
