#!/usr/bin/env bash
# The reading-phase study on a GPU box that has PyTorch (Node is not needed there):
#   bash studies/reading-phase/gpu-run.sh INPUTS OUT
# INPUTS is a folder prepared on a machine with Node first:
#   npx tsx studies/reading-phase/export.ts models/crossmon-base INPUTS/study 300
#   cp models/crossmon-base/work/phase2/checkpoint/params.safetensors INPUTS/study/phase2.safetensors
#   cp models/crossmon-base/work/phase3/metrics.jsonl INPUTS/study/shipped-metrics.jsonl
# Results land in OUT (study.jsonl, study.log).
set -uo pipefail
if [ $# -ne 2 ]; then echo "usage: bash studies/reading-phase/gpu-run.sh INPUTS OUT" >&2; exit 2; fi
inputs=$1
out=$2
mkdir -p "$out"
nvidia-smi -L
PYTHONUNBUFFERED=1 python3 studies/reading-phase/reading_phase_study.py "$inputs/study" models/crossmon-base "$out" \
  --budget-s "${STUDY_BUDGET_S:-300}" --runs \
  check:shipped:2000:5 shipped:shipped:2000 s1:1:2000 s2:2:2000 s3:3:2000 long1:1:6000 long2:2:6000 s4:4:2000 \
  long3:3:6000 s5:5:2000 vlong1:1:12000 \
  2>&1 | tee "$out/study.log" | grep -v "Loading weights"
