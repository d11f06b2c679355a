/**
 * `npm run bench -- profile`: where a prefill (one 256-token prompt, logits at its last position) and a training step
 * (AdamW on 8 × 256 tokens, every weight training) of the ~108M peer model spend their time, kernel by kernel:
 * milliseconds and calls per pass, products named by their shape (ta, tb, M, N, K). For finding the next lever and
 * checking one, not for ratios against peers (the peers bench gives those). Prints one JSON line.
 * With --shape NAME (a user shape of the peers bench, e.g. llama-0.36b): that shape as a random BF16 checkpoint held
 * 16-bit, a 1,024-token prefill and a LoRA step (r 16, every linear layer, one 1,024-token example, loss on its last
 * token) instead; with --f16 the checkpoint is F16 (CROSSMON_BF16=f32 runs a BF16 one without the BF16 dot products);
 * --tokens N for another length than 1,024 (a long transcript's prefill: --prefill-only --tokens 4096).
 *   npm run bench -- profile [--prefill-only] [--passes N] [--shape NAME [--f16] [--tokens N]]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../src/core/random.js";
import { loadModel } from "../src/engine/io/checkpoint.js";
import { addLora } from "../src/engine/lora.js";
import { AdamW } from "../src/engine/optim.js";
import { nextTokenLogprobs } from "../src/engine/score.js";
import { trainStep } from "../src/engine/train-step.js";
import { writeRandomBf16 } from "./lib/random-checkpoint.js";
import { USER_SHAPES, type UserShape } from "./lib/user-shapes.js";
import { parseConfig } from "../src/engine/config.js";
import { kernels, nativeKernels } from "../src/engine/kernels/index.js";
import type { Kernels } from "../src/engine/kernels/types.js";
import { Transformer } from "../src/engine/model.js";
import { PEER_MODEL } from "./lib/model-shape.js";
import { fullTrainingStep } from "./lib/train-step.js";

const prefillOnly = process.argv.includes("--prefill-only");
const at = process.argv.indexOf("--passes");
const passes = at > 0 ? Number(process.argv[at + 1]) : 3;
if (!Number.isInteger(passes) || passes < 1)
  throw new Error(`--passes: a whole number from 1, not ${process.argv[at + 1]}`);

/** Times every kernel call made through `k` (its functions are replaced by timed ones) into `spent`. */
function instrument(k: Kernels) {
  const spent = new Map<string, { ms: number; calls: number }>();
  const table = k as unknown as Record<string, unknown>;
  for (const [name, f] of Object.entries(table)) {
    if (typeof f !== "function") continue;
    table[name] = (...args: unknown[]) => {
      // products by shape: (ta, tb, M, N, K) for sgemm, (wRows, f16, M, N, K) and (M, N, K) for 16-bit weights
      const shape =
        name === "sgemm" || name === "sgemmHalf"
          ? args.slice(0, 5)
          : name === "sgemmBf16" || name === "sgemmBf16Rows"
            ? args.slice(0, 3)
            : null;
      const key = shape ? `${name} ${shape.join(",")}` : name;
      const t0 = performance.now();
      const out = (f as (...a: unknown[]) => unknown).apply(k, args);
      const s = spent.get(key) ?? { ms: 0, calls: 0 };
      s.ms += performance.now() - t0;
      s.calls++;
      spent.set(key, s);
      return out;
    };
  }
  return spent;
}

/** Runs `pass` once untimed, then `passes` times; the total and each kernel's share, per pass. */
function profile(pass: () => void, spent: Map<string, { ms: number; calls: number }>) {
  pass();
  spent.clear();
  const t0 = performance.now();
  for (let i = 0; i < passes; i++) pass();
  const total = (performance.now() - t0) / passes;
  const rows = [...spent].sort((a, b) => b[1].ms - a[1].ms);
  const inKernels = rows.reduce((a, [, s]) => a + s.ms, 0) / passes;
  return {
    ms_per_pass: +total.toFixed(1),
    ms_outside_kernels: +(total - inKernels).toFixed(1),
    kernels: Object.fromEntries(
      rows.map(([key, s]) => [key, { ms: +(s.ms / passes).toFixed(2), calls: s.calls / passes }]),
    ),
  };
}

const shapeAt = process.argv.indexOf("--shape");
if (shapeAt > 0) {
  const name = process.argv[shapeAt + 1] as UserShape;
  if (!(name in USER_SHAPES)) throw new Error(`--shape: one of ${Object.keys(USER_SHAPES).join(", ")}`);
  const dir = mkdtempSync(join(tmpdir(), "crossmon-profile-"));
  try {
    writeRandomBf16(USER_SHAPES[name], dir, process.argv.includes("--f16") ? "F16" : "BF16");
    const model = loadModel(dir);
    const spent = instrument(model.k);
    const tokensAt = process.argv.indexOf("--tokens");
    const T = tokensAt > 0 ? Number(process.argv[tokensAt + 1]) : 1024;
    if (!Number.isInteger(T) || T < 2)
      throw new Error(`--tokens: a whole number from 2, not ${process.argv[tokensAt + 1]}`);
    const rng = new Rng(7);
    const ids = Array.from({ length: T }, () => rng.int(4096));
    const prefill = profile(() => void nextTokenLogprobs(model, [ids], 1), spent);
    let lora: ReturnType<typeof profile> | null = null;
    if (!prefillOnly) {
      addLora(model, { rank: 16, alpha: 32, dropout: 0, targets: ["all-linear"], seed: 1 });
      const opt = new AdamW(model.k, model.trainableParams(), { weightDecay: 0 });
      const weights = new Float32Array(T);
      weights[T - 1] = 1;
      lora = profile(() => void trainStep(model, opt, [[{ ids, weights }]], 1e-4, 1), spent);
    }
    const threads = nativeKernels()?.info().threads ?? 1;
    const dtype = process.argv.includes("--f16") ? "F16" : "BF16";
    console.log(JSON.stringify({ shape: name, dtype, threads, passes, tokens: T, prefill, lora_step: lora }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const k = kernels();
const spent = instrument(k);
const config = parseConfig(PEER_MODEL);
const model = new Transformer(config);
model.initRandom(1234, 0.02);
const T = 256;
const rng = new Rng(7);
const prompt = new Int32Array(T).map(() => rng.int(config.vocabSize));
const prefill = profile(
  () => void model.forward({ tokens: prompt, B: 1, T, validLen: null }, Int32Array.of(T - 1)),
  spent,
);

let train: ReturnType<typeof profile> | null = null;
if (!prefillOnly) {
  const B = 8;
  const tokens = new Int32Array(B * T).map(() => rng.int(config.vocabSize));
  const targets = new Int32Array(B * T).map(() => rng.int(config.vocabSize));
  train = profile(fullTrainingStep(model, k, tokens, targets, B, T), spent);
}

console.log(
  JSON.stringify({
    threads: nativeKernels()?.info().threads ?? 1,
    passes,
    prefill_256: prefill,
    train_step_8x256: train,
  }),
);
