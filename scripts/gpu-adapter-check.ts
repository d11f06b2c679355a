/**
 * After scripts/gpu-worker-check.sh: crossmon's engine scores the LoRA adapter the worker trained on the GPU, and the
 * result is compared with the CPU worker's scores of the adapter it trained from the same requests (recorded by
 * `python/gpu_worker_check.py record`).
 *   npx tsx scripts/gpu-adapter-check.ts OUT/adapter INPUTS/worker-expected.json
 */
import { readFileSync } from "node:fs";
import { loadModel } from "../src/engine/io/checkpoint.js";
import { loadAdapter } from "../src/engine/io/peft.js";
import { scoreNextTokens } from "../src/engine/score.js";

const [adapter, expected] = process.argv.slice(2);
if (!adapter || !expected) throw new Error("usage: npx tsx scripts/gpu-adapter-check.ts ADAPTER_DIR EXPECTED_JSON");
const model = loadModel("test/fixtures/tiny-llama");
loadAdapter(model, adapter);
// the prompts and answer tokens of the last request in python/gpu_worker_check.py
const ours = scoreNextTokens(
  model,
  [
    [1, 2, 3, 4, 5, 6, 7, 8],
    [9, 8, 7, 6],
  ],
  [4, 9],
);
const cpu = (JSON.parse(readFileSync(expected, "utf8")) as { answers: { logprobs?: number[][] }[] }).answers.at(-1)!
  .logprobs!;
const d = Math.max(...ours.flat().map((x, i) => Math.abs(x - cpu.flat()[i])));
console.log(
  `engine on the GPU-trained adapter vs the CPU worker on its own: max |log-probability difference| ${d.toExponential(2)}`,
);
if (!(d < 1e-4)) process.exit(1);
