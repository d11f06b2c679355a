/**
 * `npm run bench -- profile`: where a prefill (one 256-token prompt, logits at its last position) and a training step
 * (AdamW on 8 × 256 tokens, every weight training) of the ~108M peer model spend their time, kernel by kernel:
 * milliseconds and calls per pass, products named by their shape (ta, tb, M, N, K). For finding the next lever and
 * checking one, not for ratios against peers (the peers bench gives those). Prints one JSON line.
 *   npm run bench -- profile [--prefill-only] [--passes N]
 */
import { Rng } from "../src/core/random.js";
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
      const key = name === "sgemm" || name === "sgemmBf16" ? `${name} ${args.slice(0, 5).join(",")}` : name;
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
