/**
 * Exports what a recipe study of the base model's reading phase needs, for studies/reading-phase/reading_phase_study.py (run on a
 * GPU machine, where one run of the phase takes seconds instead of 36 minutes):
 *  - reading.bin: the reading phase's packed stream exactly as `crossmon pretrain` builds it (int32 count, int32 ids,
 *    float32 loss weights), recipe.json (its hyper-parameters) and the rows of every step in the shipped run's order
 *    (so that a re-implementation can be checked against the shipped run's training curve);
 *  - eval-w<seed>.json: every built-in task's single-token test prompts (n per task) and labels, for world seeds 0
 *    (the reported world) and 1 (the one models are chosen on), rendered by crossmon's renderer.
 *   npx tsx studies/reading-phase/export.ts MODEL_DIR OUT_DIR [n]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { Renderer } from "../../src/formats/render.js";
import {
  SHIPPED_RECIPE,
  packedBatches,
  phaseBatchSeed,
  phaseSchedule,
  readingPhaseStream,
} from "../../src/train/pretrain/index.js";
import { writeEvalPrompts } from "../pretrain-recipe/recipe-study.js";

const [model, out, nArg] = process.argv.slice(2);
if (!model || !out) throw new Error("usage: npx tsx studies/reading-phase/export.ts MODEL_DIR OUT_DIR [n]");
const n = Number(nArg ?? 300);
mkdirSync(out, { recursive: true });
const renderer = new Renderer(HfTokenizer.load(model), 1024);

const s = readingPhaseStream(SHIPPED_RECIPE, renderer);
const head = Buffer.alloc(4);
head.writeUInt32LE(s.ids.length);
writeFileSync(
  join(out, "reading.bin.gz"),
  gzipSync(Buffer.concat([head, Buffer.from(s.ids.buffer), Buffer.from(s.weights.buffer)])),
);
const r = SHIPPED_RECIPE;
// the reading phase is phase n = 2: its batch seed, as in pretrain()
const batchAt = packedBatches(s.ids, s.weights, r, phaseBatchSeed(r.seed, 2));
const rowsOf = (step: number) =>
  batchAt(step)
    .flat()
    .map((q) => (q.ids as Int32Array).byteOffset / 4 / r.seqLen);
const order = Array.from({ length: r.readingSteps }, (_, step) => rowsOf(step));
const phase = phaseSchedule(r).find((p) => p.name === "reading")!;
writeFileSync(
  join(out, "recipe.json"),
  JSON.stringify(
    {
      order,
      steps: phase.steps,
      lr: phase.lr,
      warmup: phase.warmup,
      seqLen: r.seqLen,
      rowsPerStep: r.rowsPerStep,
      minRatio: 0.1,
      weightDecay: 0.1,
      maxGradNorm: 1,
      tokens: s.ids.length,
    },
    null,
    2,
  ),
);
console.log(`reading phase: ${s.ids.length} tokens`);

writeEvalPrompts(renderer, out, n);
console.log(`test prompts of every task for world seeds 0 and 1: ${n} per task`);
