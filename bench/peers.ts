/**
 * `npm run bench -- peers`: crossmon against what a user would run instead, on the same random weights and thread
 * count, at two shapes (the engine bench's model, and a ~108M-parameter Llama): PyTorch CPU (bench/torch_peers.py,
 * bench/torch_engine.py) and llama.cpp (node-llama-cpp's prebuilt build, on the F32 GGUF that `crossmon export`
 * writes). Prefill: one 256-token prompt, logits at its last position (how a monitor is scored), tokens/s. Decode:
 * greedy tokens/s after that prompt, the prompt's own prefill not counted. Training: one AdamW step on 8 × 256 tokens
 * against PyTorch, at the larger shape. Prints one JSON line: raw figures, ratios at the larger shape, and the share of
 * the GEMM-bound limit (FLOPs per token over the measured peak GEMM rate) that crossmon's prefill reaches; then the
 * same prefill and decode with the weights in BF16 (bf16_* ratios). At the larger shape the three tools take turns for
 * three rounds, and each ratio is the median of its rounds' ratios (all listed under `rounds`): this machine's speed
 * drifts by a tenth and more from one minute to the next, and a tool timed alone would carry whatever spell it met.
 * Then the shapes users bring (bench/lib/user-shapes.ts): a 0.36B Llama and Qwen3-1.7B's shape in BF16, prefill of
 * 1,024 and 4,096 tokens against llama.cpp (BF16 and Q8_0) and PyTorch + transformers in bfloat16, a LoRA step
 * against PyTorch + peft, each in a process of its own with its peak RSS; keys bf16_prefill_vs_torch,
 * bf16_prefill_vs_llamacpp_q8, bf16_lora_train_vs_torch, long_prefill_ratio, long_scoring_peak_rss_over_weights, and
 * bf16_lora_train_ceiling_vs_torch and bf16_prefill_ceiling_vs_torch: the largest LoRA and prefill ratios this CPU
 * allows (bench/lib/lora-floor.ts, bench/lib/prefill-floor.ts; `npm run bench -- lora` measures the LoRA step and its
 * ceiling alone, in minutes).
 *   npm run bench -- peers [--quick]   (--quick: the engine bench's shape only, fewer repeats, one round, no user
 *                                       shapes)
 *   npm run bench -- peers [--user-shapes-only] [--shapes A,B] [--lengths 1024,4096] [--rounds N]
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
import { exportGguf } from "../src/train/export-gguf.js";
import { benchGemm } from "./gemm.js";
import { fullTrainingStep } from "./lib/train-step.js";
import { median, timed } from "./lib/timing.js";
import { BENCH_MODEL, PEER_MODEL } from "./lib/model-shape.js";
import { PYTHON, peerEnv } from "./lib/python.js";
import { runUserShapes, userShapeFigures, userShapeOptions } from "./lib/user-shapes.js";

const quick = process.argv.includes("--quick");
/** the user shapes alone (bench/lib/user-shapes.ts), for checking a lever on them */
const userShapesOnly = process.argv.includes("--user-shapes-only");
const T = 256;
const NEW = quick ? 16 : 64;
const REPS = quick ? 3 : 5;
const ROUNDS = quick ? 1 : 3;
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

/** One AdamW step on 8 × 256 tokens, as the engine bench times it, from the saved weights (as PyTorch starts). */
function crossmonTrain(work: string): number {
  const model = loadModel(work);
  const c = model.config;
  const B = 8;
  const rng = new Rng(99);
  const tokens = new Int32Array(B * T).map(() => rng.int(c.vocabSize));
  const targets = new Int32Array(B * T).map(() => rng.int(c.vocabSize));
  writeFileSync(join(work, "batch.json"), JSON.stringify({ B, T, tokens: [...tokens], targets: [...targets] }));
  const step = fullTrainingStep(model, kernels(), tokens, targets, B, T);
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

type Figures = Record<string, number | string>;
type Round = {
  crossmon: Figures;
  llama_cpp: Figures | { error: string };
  torch: Figures | { error: string };
  crossmon_train_tokens_per_s?: number;
  torch_train?: Figures | { error: string };
};

/** Each tool in turn on the same prompt (and the training step, where asked), so that a slow spell falls on all. */
async function round(model: Transformer, work: string, gguf: string, prompt: Int32Array, train: boolean) {
  const r: Round = {
    crossmon: crossmonRun(model, prompt),
    llama_cpp: await llamaCppRun(gguf, prompt).catch((e: Error) => ({ error: e.message })),
    torch: torchRun("torch_peers.py", [work, String(threads), String(T), String(NEW), String(REPS)]),
  };
  if (train) {
    r.crossmon_train_tokens_per_s = crossmonTrain(work);
    r.torch_train = torchRun("torch_engine.py", [work, String(threads), String(quick ? 2 : 3)]);
  }
  return r;
}

/** The median of each numeric field over the runs that have it (a run that failed carries `error` instead; when every
 * run failed, the first one's error). */
function medians(runs: (Figures | { error: string })[]): Figures {
  const ok = runs.filter((x): x is Figures => !("error" in x));
  if (!ok.length) return runs[0] ?? { error: "not run" };
  const out: Figures = {};
  for (const key of Object.keys(ok[0] ?? {}))
    out[key] = typeof ok[0][key] === "number" ? median(ok.map((x) => Number(x[key]))) : ok[0][key];
  return out;
}

const num = (o: unknown, k: string) =>
  o && typeof o === "object" && k in o ? Number((o as Record<string, number>)[k]) : NaN;
const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? +(a / b).toFixed(3) : null;

/** The headline ratios, each the median over the rounds of that round's own ratio. */
function ratiosOf(rounds: Round[]) {
  const med = (f: (x: Round) => number | null) => {
    const xs = rounds.map(f).filter((x): x is number => x !== null);
    return xs.length ? median(xs) : null;
  };
  const pre = (x: Round) => num(x.crossmon, "prefill_tokens_per_s");
  const dec = (x: Round) => num(x.crossmon, "decode_tokens_per_s");
  return {
    prefill_vs_torch: med((x) => ratio(pre(x), num(x.torch, "prefill_tokens_per_s"))),
    prefill_vs_llamacpp: med((x) => ratio(pre(x), num(x.llama_cpp, "prefill_tokens_per_s"))),
    decode_vs_llamacpp: med((x) => ratio(dec(x), num(x.llama_cpp, "decode_tokens_per_s"))),
    decode_vs_torch: med((x) => ratio(dec(x), num(x.torch, "decode_tokens_per_s"))),
    train_vs_torch: med((x) => ratio(Number(x.crossmon_train_tokens_per_s), num(x.torch_train, "train_tokens_per_s"))),
  };
}

/** The ~108M and engine shapes in F32 and BF16, as before the user shapes. */
async function smallShapes() {
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
    const rounds: Round[] = [];
    for (let i = 0; i < (name === "peer_108m" ? ROUNDS : 1); i++)
      rounds.push(await round(model, work, gguf, prompt, name === "peer_108m" || quick));
    const params = [...model.params.values()].reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    const flops = prefillFlopsPerToken(config);
    const own = medians(rounds.map((x) => x.crossmon));
    const r: Record<string, unknown> = {
      parameters: params,
      crossmon: own,
      llama_cpp: medians(rounds.map((x) => x.llama_cpp)),
      torch: medians(rounds.map((x) => x.torch)),
      prefill_gflops: +((Number(own.prefill_tokens_per_s) * flops) / 1e9).toFixed(1),
      gemm_bound_share: peak ? +((Number(own.prefill_tokens_per_s) * flops) / 1e9 / peak).toFixed(3) : null,
      ratios: ratiosOf(rounds),
    };
    if (rounds[0].torch_train) {
      r.crossmon_train_tokens_per_s = median(rounds.map((x) => Number(x.crossmon_train_tokens_per_s)));
      r.torch_train = medians(rounds.map((x) => x.torch_train ?? { error: "not run" }));
    }
    if (rounds.length > 1) r.rounds = rounds.map((x) => ({ ...x, ratios: ratiosOf([x]) }));
    if (name === "peer_108m" || quick) r.bf16 = await bf16Round(model, work, prompt);
    results[name] = r;
    rmSync(work, { recursive: true });
  }
  const at = results[quick ? "engine" : "peer_108m"];
  const bf = (at.bf16 ?? {}) as Record<string, unknown>;
  const pre = (o: unknown) => num(o, "prefill_tokens_per_s");
  return {
    peak_gemm_gflops: peak,
    prompt_tokens: T,
    new_tokens: NEW,
    shapes: results,
    ...(at.ratios as object),
    small_bf16_prefill_vs_torch: ratio(pre(bf.crossmon), pre(bf.torch)),
    small_bf16_prefill_vs_llamacpp: ratio(pre(bf.crossmon), pre(bf.llama_cpp)),
    small_bf16_decode_vs_llamacpp: ratio(
      num(bf.crossmon, "decode_tokens_per_s"),
      num(bf.llama_cpp, "decode_tokens_per_s"),
    ),
    gemm_bound_share: at.gemm_bound_share,
  };
}

const small = userShapesOnly ? {} : await smallShapes();
const user = quick ? null : userShapeFigures(runUserShapes(userShapeOptions(process.argv)));
console.log(
  JSON.stringify({
    threads,
    gemm_plan: nativeKernels()?.info().gemmPlan ?? null,
    ...small,
    ...(user ?? {}),
  }),
);
