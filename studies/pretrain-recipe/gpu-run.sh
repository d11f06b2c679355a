#!/usr/bin/env bash
# The base model's whole recipe from random weights, as one run for a GPU box that has PyTorch and transformers
# (Node is not needed there):
#   bash studies/pretrain-recipe/gpu-run.sh OUT RUN...
# Each RUN is TAG:DATA_DIR:ROWS:MULTS (MULTS comma-separated); a DATA_DIR is exported first on a machine with Node:
#   npx tsx studies/pretrain-recipe/export.ts models/crossmon-base DATA_DIR 1 300 12000
# A run gets the time left of STUDY_LIMIT_S (default 420) less a reserve for loading, scoring and saving. Results land
# in OUT (TAG.result.json, TAG.curve.jsonl, TAG.safetensors in bfloat16, run.log). Back there, a model folder is the
# data folder's config and tokenizer with TAG.safetensors as model.safetensors: `npx crossmon eval --model DIR`.
set -uo pipefail
if [ $# -lt 2 ]; then echo "usage: bash studies/pretrain-recipe/gpu-run.sh OUT TAG:DATA_DIR:ROWS:MULTS..." >&2; exit 2; fi
out=$1
shift
mkdir -p "$out"
nvidia-smi -L
limit=${STUDY_LIMIT_S:-420}
for run in "$@"; do
  IFS=: read -r tag data rows mults <<<"$run"
  budget=$((limit - SECONDS - 70))
  if [ "$budget" -lt 60 ]; then echo "{\"run\": \"$tag\", \"skipped\": \"time\"}" | tee -a "$out/run.log"; continue; fi
  PYTHONUNBUFFERED=1 python3 studies/pretrain-recipe/pretrain_study.py "$data" "$out" --tag "$tag" --rows "$rows" --mults ${mults//,/ } \
    --budget-s "$budget" --save-dtype bfloat16 2>&1 | tee -a "$out/run.log" | grep -v "Loading weights"
done
