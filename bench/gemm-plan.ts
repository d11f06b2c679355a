/**
 * `npm run bench -- gemm-plan`: what choosing the GEMM per shape class by measurement is worth, on the engine bench's
 * model shape (random weights): prefill of 8 prompts of 256 tokens (tokens/s) and greedy decoding of 64 tokens after
 * a 256-token prompt (tokens/s), with every product on the own kernel, every product on OpenBLAS, and the measured
 * plan. One JSON line; each configuration's median of three runs, all in this process on the same weights.
 */
import { parseConfig } from "../src/engine/config.js";
import { BENCH_MODEL } from "./lib/model-shape.js";
import { generate } from "../src/engine/generate.js";
import { gemmPlanInForce, nativeKernels } from "../src/engine/kernels/index.js";
import { Transformer } from "../src/engine/model.js";
import { nextTokenLogprobs } from "../src/engine/score.js";

const k = nativeKernels();
if (!k?.info().openblas) {
  console.log(JSON.stringify({ note: "needs the native kernels and OpenBLAS: nothing to choose between" }));
  process.exit(0);
}
const measured = gemmPlanInForce();
const model = new Transformer(parseConfig(BENCH_MODEL));
model.initRandom(1, 0.02);
const prompt = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 7919 + seed * 31) % 8192);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function measure(): { prefill_tok_s: number; decode_tok_s: number } {
  const prompts = Array.from({ length: 8 }, (_, i) => prompt(256, i));
  const prefill: number[] = [];
  const decode: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    nextTokenLogprobs(model, prompts, 8);
    prefill.push((8 * 256) / ((performance.now() - t0) / 1000));
    // the prompt's prefill is in both runs: their difference is 63 decoding steps
    const run = (n: number) => {
      const t = performance.now();
      generate(model, prompt(256, 99), { maxNewTokens: n, temperature: 0, seed: 0, stopTokenIds: [] });
      return performance.now() - t;
    };
    const one = run(1);
    decode.push(63 / ((run(64) - one) / 1000));
  }
  return { prefill_tok_s: Math.round(median(prefill)), decode_tok_s: +median(decode).toFixed(1) };
}

const code = (b: string) => (b === "own" ? 1 : 2);
const out: Record<string, unknown> = { threads: k.info().threads, simd: k.info().simd, plan: measured?.plan };
k.setGemmPlan(1, 1, 1);
out.own = measure();
k.setGemmPlan(2, 2, 2);
out.openblas = measure();
if (measured) k.setGemmPlan(code(measured.plan.row), code(measured.plan.small), code(measured.plan.large));
out.measured_plan = measure();
console.log(JSON.stringify(out));
