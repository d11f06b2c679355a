/**
 * `npm run bench -- peers`: crossmon against what a user would run instead, on the same random weights and thread
 * count, at two shapes (the engine bench's model, and a ~108M-parameter Llama): PyTorch CPU (bench/torch_peers.py,
 * bench/torch_engine.py) and llama.cpp (node-llama-cpp's prebuilt build, on the F32 GGUF that `crossmon export`
 * writes). Prefill: one 256-token prompt, logits at its last position (how a monitor is scored), tokens/s. Decode:
 * greedy tokens/s after that prompt, the prompt's own prefill not counted. Training: one AdamW step on 8 × 256 tokens
 * against PyTorch, at the larger shape. Prints one JSON line: raw figures, ratios at the larger shape, and the share of
 * the GEMM-bound limit (FLOPs per token over the measured peak GEMM rate) that crossmon's prefill reaches; then the
 * same prefill and decode with the weights in BF16 (bf16_* ratios).
 *   npm run bench -- peers [--quick]   (--quick: the engine bench's shape only, fewer repeats)
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../src/core/random.js";
import { parseConfig, type ModelConfig } from "../src/engine/config.js";
import { loadModel, saveModel } from "../src/engine/io/checkpoint.js";
import { kernels, nativeKernels } from "../src/engine/kernels/index.js";
import { KVCache, Transformer } from "../src/engine/model.js";
import { AdamW, clipGradNorm } from "../src/engine/optim.js";
import { setTrainable } from "../src/engine/params.js";
import { exportGguf } from "../src/train/export-gguf.js";
import { benchGemm } from "./gemm.js";
import { median, timed } from "./lib/timing.js";
import { BENCH_MODEL, PEER_MODEL } from "./lib/model-shape.js";
import { PYTHON, peerEnv } from "./lib/python.js";

const quick = process.argv.includes("--quick");
const T = 256;
const NEW = quick ? 16 : 64;
const REPS = quick ? 3 : 5;
const threads = nativeKernels()?.info().threads ?? 1;

async function timedAsync(fn: () => Promise<number | undefined>, n: number): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const own = await fn();
    ts.push(own ?? (performance.now() - t0) / 1000);
  }
  return median(ts);
}

const argmax = (row: Float32Array) => row.reduce((best, x, i) => (x > row[best] ? i : best), 0);

/** crossmon: prefill and decode as above, in this process. */
function crossmonRun(model: Transformer, prompt: Int32Array) {
  const c = model.config;
  const prefill = timed(
    () => void model.forward({ tokens: prompt, B: 1, T, validLen: null }, Int32Array.of(T - 1)),
    REPS,
  );
  const decodeOnce = () => {
    const cache = new KVCache(c, 1, T + NEW + 1);
    let { logits } = model.forward({ tokens: prompt, B: 1, T, validLen: null }, Int32Array.of(T - 1), { cache });
    const t0 = performance.now();
    for (let i = 0; i < NEW; i++) {
      const next = Int32Array.of(argmax(logits.subarray(0, c.vocabSize)));
      ({ logits } = model.forward({ tokens: next, B: 1, T: 1, validLen: null }, Int32Array.of(0), { cache }));
    }
    return (performance.now() - t0) / 1000;
  };
  decodeOnce();
  const decode = median(Array.from({ length: Math.max(1, REPS >> 1) }, decodeOnce));
  return { prefill_tokens_per_s: T / prefill, decode_tokens_per_s: NEW / decode };
}

/** llama.cpp through node-llama-cpp, on the GGUF crossmon exported from the same weights. */
async function llamaCppRun(file: string, prompt: Int32Array) {
  const { getLlama } = await import("node-llama-cpp");
  type Token = import("node-llama-cpp").Token;
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  const model = await llama.loadModel({ modelPath: file });
  const ctx = await model.createContext({ contextSize: 512, batchSize: 512, threads });
  const seq = ctx.getSequence();
  const toks = [...prompt] as Token[];
  try {
    const prefill = await timedAsync(async () => {
      await seq.clearHistory();
      await seq.controlledEvaluate(toks.map((t, i) => (i === T - 1 ? [t, { generateNext: { logits: true } }] : t)));
      return undefined;
    }, REPS);
    const decode = await timedAsync(
      async () => {
        await seq.clearHistory();
        await seq.evaluateWithoutGeneratingNewTokens(toks.slice(0, T - 1));
        const t0 = performance.now();
        let n = 0;
        for await (const _ of seq.evaluate(toks.slice(T - 1), { temperature: 0 })) if (++n >= NEW) break;
        return (performance.now() - t0) / 1000;
      },
      Math.max(1, REPS >> 1),
    );
    return {
      prefill_tokens_per_s: T / prefill,
      decode_tokens_per_s: NEW / decode,
      release: llama.llamaCppRelease.release,
    };
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}

function torchRun(script: string, args: string[]): Record<string, number> | { error: string } {
  const r = spawnSync(PYTHON, [join(import.meta.dirname, script), ...args], { encoding: "utf8", env: peerEnv() });
  if (r.status !== 0) return { error: r.stderr.trim().split("\n").slice(-2).join(" ") };
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
}

/** One AdamW step on 8 × 256 tokens, as the engine bench times it. */
function crossmonTrain(model: Transformer, work: string): number {
  const c = model.config;
  const B = 8;
  const rng = new Rng(99);
  const tokens = new Int32Array(B * T).map(() => rng.int(c.vocabSize));
  const targets = new Int32Array(B * T).map(() => rng.int(c.vocabSize));
  writeFileSync(join(work, "batch.json"), JSON.stringify({ B, T, tokens: [...tokens], targets: [...targets] }));
  for (const p of model.params.values()) setTrainable(p, true);
  const k = kernels();
  const opt = new AdamW(k, model.trainableParams(), { weightDecay: 0.1 });
  const rows = Int32Array.from({ length: B * T }, (_, i) => i);
  const weights = new Float32Array(B * T).fill(1);
  const step = () => {
    const { logits, tape } = model.forward({ tokens, B, T, validLen: null }, rows, { train: true });
    k.crossEntropy(logits, targets, weights, B * T, c.vocabSize, 1 / (B * T));
    model.backward(tape!, logits);
    clipGradNorm(k, opt.params, 1);
    opt.apply(1e-4);
    opt.zeroGrad();
  };
  return (B * T) / timed(step, quick ? 2 : 3);
}

/**
 * The same weights rounded to BF16, each tool at its BF16 best: crossmon keeps the matrices 16-bit and uses the CPU's
 * BF16 dot products where it has them (`bf16_dot_products` says whether it did), llama.cpp runs the BF16 GGUF crossmon
 * exports, PyTorch casts the weights and computes in bfloat16.
 */
async function bf16Round(model: Transformer, work: string, prompt: Int32Array) {
  const dir = join(work, "bf16");
  saveModel(model, dir, "BF16");
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(work, f), join(dir, f));
  const gguf = join(work, "model-bf16.gguf");
  exportGguf({ base: dir, adapter: null }, gguf, { dtype: "bf16" });
  const own = crossmonRun(loadModel(dir), prompt);
  const cpp = await llamaCppRun(gguf, prompt).catch((e: Error) => ({ error: e.message }));
  const torch = torchRun("torch_peers.py", [work, String(threads), String(T), String(NEW), String(REPS), "bf16"]);
  return { bf16_dot_products: nativeKernels()?.info().bf16 ?? false, crossmon: own, llama_cpp: cpp, torch };
}

/** FLOPs per prompt token of a last-position prefill: the layers' products and causal attention (LM head once). */
function prefillFlopsPerToken(c: ModelConfig): number {
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  const perLayer = c.hidden * (q + 2 * kv) + q * c.hidden + 3 * c.hidden * c.intermediate;
  return 2 * c.layers * perLayer + 2 * c.layers * q * T + (2 * c.hidden * c.vocabSize) / T;
}

const shapes = quick ? { engine: BENCH_MODEL } : { engine: BENCH_MODEL, peer_108m: PEER_MODEL };
const results: Record<string, Record<string, unknown>> = {};
const gemm = nativeKernels() ? benchGemm(0.25, 2) : null;
const peak = gemm ? Math.max(gemm.own_gemm_gflops, gemm.openblas_gemm_gflops ?? 0) : null;
for (const [name, hf] of Object.entries(shapes)) {
  const config = parseConfig(hf);
  const model = new Transformer(config);
  model.initRandom(1234, 0.02);
  const work = mkdtempSync(join(tmpdir(), "crossmon-peers-"));
  saveModel(model, work);
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    copyFileSync(join("models/crossmon-base", f), join(work, f));
  const rng = new Rng(7);
  const prompt = new Int32Array(T).map(() => rng.int(Math.min(config.vocabSize, 4096)));
  const gguf = join(work, "model-f32.gguf");
  exportGguf({ base: work, adapter: null }, gguf, { dtype: "f32" });
  const own = crossmonRun(model, prompt);
  const cpp = await llamaCppRun(gguf, prompt).catch((e: Error) => ({ error: e.message }));
  const torch = torchRun("torch_peers.py", [work, String(threads), String(T), String(NEW), String(REPS)]);
  const params = [...model.params.values()].reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  const flops = prefillFlopsPerToken(config);
  const r: Record<string, unknown> = {
    parameters: params,
    crossmon: own,
    llama_cpp: cpp,
    torch,
    prefill_gflops: +((own.prefill_tokens_per_s * flops) / 1e9).toFixed(1),
    gemm_bound_share: peak ? +((own.prefill_tokens_per_s * flops) / 1e9 / peak).toFixed(3) : null,
  };
  if (name === "peer_108m" || quick) r.bf16 = await bf16Round(model, work, prompt);
  if (name === "peer_108m" || quick) {
    r.crossmon_train_tokens_per_s = crossmonTrain(model, work);
    r.torch_train = torchRun("torch_engine.py", [work, String(threads), String(quick ? 2 : 3)]);
  }
  results[name] = r;
  rmSync(work, { recursive: true });
}

const at = results[quick ? "engine" : "peer_108m"];
const bf = (at.bf16 ?? {}) as Record<string, unknown>;
const num = (o: unknown, k: string) =>
  o && typeof o === "object" && k in o ? Number((o as Record<string, number>)[k]) : NaN;
const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? +(a / b).toFixed(3) : null;
console.log(
  JSON.stringify({
    threads,
    gemm_plan: nativeKernels()?.info().gemmPlan ?? null,
    peak_gemm_gflops: peak,
    prompt_tokens: T,
    new_tokens: NEW,
    shapes: results,
    prefill_vs_torch: ratio(num(at.crossmon, "prefill_tokens_per_s"), num(at.torch, "prefill_tokens_per_s")),
    prefill_vs_llamacpp: ratio(num(at.crossmon, "prefill_tokens_per_s"), num(at.llama_cpp, "prefill_tokens_per_s")),
    decode_vs_llamacpp: ratio(num(at.crossmon, "decode_tokens_per_s"), num(at.llama_cpp, "decode_tokens_per_s")),
    decode_vs_torch: ratio(num(at.crossmon, "decode_tokens_per_s"), num(at.torch, "decode_tokens_per_s")),
    train_vs_torch: ratio(Number(at.crossmon_train_tokens_per_s), num(at.torch_train, "train_tokens_per_s")),
    bf16_prefill_vs_torch: ratio(num(bf.crossmon, "prefill_tokens_per_s"), num(bf.torch, "prefill_tokens_per_s")),
    bf16_prefill_vs_llamacpp: ratio(
      num(bf.crossmon, "prefill_tokens_per_s"),
      num(bf.llama_cpp, "prefill_tokens_per_s"),
    ),
    bf16_decode_vs_llamacpp: ratio(num(bf.crossmon, "decode_tokens_per_s"), num(bf.llama_cpp, "decode_tokens_per_s")),
    gemm_bound_share: at.gemm_bound_share,
  }),
);
