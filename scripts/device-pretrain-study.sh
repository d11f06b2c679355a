#!/usr/bin/env bash
# The base model's whole recipe at a larger budget, as one prepared run for the GPU machine (the `device` tool; it has
# PyTorch and transformers but no Node). Prepare here first:
#   npx tsx scripts/export-pretrain-study.ts models/crossmon-base .device/pretrain4 4
# then run this there with .device carried; results land in $OUT (result.json, curve.jsonl, model/, run.log).
# Back here: npx crossmon eval --model OUT/model --world-seed 1 -n 300 (the engine scores the GPU-trained model).
set -uo pipefail
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
nvidia-smi -L
PYTHONUNBUFFERED=1 python3 python/pretrain_study.py "${STUDY_DATA:-.device/pretrain4}" "$out" --rows "${STUDY_ROWS:-64}" \
  --budget-s "${STUDY_BUDGET_S:-380}" --mults 2 1.5 1 0.75 0.5 2>&1 | tee "$out/run.log" | grep -v "Loading weights"
