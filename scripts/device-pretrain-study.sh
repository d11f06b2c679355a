#!/usr/bin/env bash
# The base model's whole recipe from random weights, as one prepared run for the GPU machine (the `device` tool; it
# has PyTorch and transformers but no Node). Prepare here first, e.g.:
#   npx tsx scripts/export-pretrain-study.ts models/crossmon-base .device/k1 1 300 12000
#   npx tsx scripts/export-pretrain-study.ts models/crossmon-base .device/k4 4 300 12000
# then run this there with those folders carried. Each RUN is TAG:DATA_DIR:ROWS:MULTS (MULTS comma-separated); a run
# gets the time left of STUDY_LIMIT_S (default 420) less a reserve for loading, scoring and saving. Results land in
# $OUT (TAG.result.json, TAG.curve.jsonl, TAG.safetensors in bfloat16, run.log). Back here, a model folder is the
# data folder's config and tokenizer with TAG.safetensors as model.safetensors: `npx crossmon eval --model DIR`.
set -uo pipefail
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
nvidia-smi -L
limit=${STUDY_LIMIT_S:-420}
for run in "$@"; do
  IFS=: read -r tag data rows mults <<<"$run"
  budget=$((limit - SECONDS - 70))
  if [ "$budget" -lt 60 ]; then echo "{\"run\": \"$tag\", \"skipped\": \"time\"}" | tee -a "$out/run.log"; continue; fi
  PYTHONUNBUFFERED=1 python3 python/pretrain_study.py "$data" "$out" --tag "$tag" --rows "$rows" --mults ${mults//,/ } \
    --budget-s "$budget" --save-dtype bfloat16 2>&1 | tee -a "$out/run.log" | grep -v "Loading weights"
done
