#!/usr/bin/env bash
# Run on a GPU box, from the repository root, after `npm ci`:
#   bash scripts/gpu-check.sh
# 1) transformers builds a tiny random Qwen3; 2) crossmon's engine and the python worker compute its logits and are
# compared with transformers'; 3) the worker runs a few LoRA steps on crossmon-rendered batches. Prints one JSON line.
set -euo pipefail
out=$(mktemp -d)
"${CROSSMON_PYTHON:-python3}" python/gpu_check.py "$out/qwen3"
cat > "$out/check.ts" <<TS
import { readFileSync } from "node:fs";
import { loadModel } from "./src/engine/io/checkpoint.js";
import { padBatch } from "./src/engine/sequences.js";
import { WorkerBackend } from "./src/backends/worker.js";
const dir = "$out/qwen3";
const fx = JSON.parse(readFileSync(dir + "/expected.json", "utf8"));
const model = loadModel(dir);
const batch = padBatch(fx.sequences);
let engineDiff = 0;
fx.sequences.forEach((s: number[], b: number) => {
  const { logits } = model.forward(batch, Int32Array.from(s.map((_: number, t: number) => b * batch.T + t)));
  fx.logits[b].flat().forEach((x: number, i: number) => (engineDiff = Math.max(engineDiff, Math.abs(x - logits[i]))));
});
const w = new WorkerBackend();
const theirs = await w.logits({ base: dir }, fx.sequences);
let workerDiff = 0;
theirs.forEach((l, b) => l.flat().forEach((x, i) => (workerDiff = Math.max(workerDiff, Math.abs(x - fx.logits[b].flat()[i])))));
const seq = { ids: [1, 2, 3, 4, 5, 6], weights: [0, 0, 0, 0, 0, 1] };
const r = await w.call("train", { model: { base: dir }, lora: { r: 4, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj"] }, batches: Array(5).fill([seq, seq]), lr: 0.01, out: "$out/adapter" });
w.close();
console.log(JSON.stringify({ transformers: fx.transformers, torch: fx.torch, engine_max_abs_logit_diff: engineDiff, worker_max_abs_logit_diff: workerDiff, worker_train_losses: r.losses }));
TS
cp "$out/check.ts" ./gpu-check.tmp.ts
node --import tsx ./gpu-check.tmp.ts
rm -f ./gpu-check.tmp.ts
