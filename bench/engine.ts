/**
 * `npm run bench -- engine`: one training step and one prefill of the same model (6 layers, d_model 384, 6 heads,
 * 2 kv heads, SwiGLU 1024, vocab 8192, sequence 256, batch 8) in crossmon and in PyTorch CPU (bench/torch_engine.py,
 * same weights, batch and optimiser, at PyTorch's best thread count), plus the GEMM comparison; prints one JSON line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../src/engine/config.js";
import { BENCH_MODEL } from "./lib/model-shape.js";
import { saveModel } from "../src/engine/io/checkpoint.js";
import { nativeKernels, kernels } from "../src/engine/kernels/index.js";
import { Transformer } from "../src/engine/model.js";
import { AdamW, clipGradNorm } from "../src/engine/optim.js";
import { setTrainable } from "../src/engine/params.js";
import { Rng } from "../src/core/random.js";
import { benchGemm } from "./gemm.js";
import { timed } from "./lib/timing.js";
import { PYTHON, peerEnv } from "./lib/python.js";

const B = 8,
  T = 256,
  STEPS = Number(process.env.BENCH_STEPS ?? 5);
const hf = BENCH_MODEL;
const config = parseConfig(hf);

const model = new Transformer(config);
model.initRandom(1234, 0.02);
for (const p of model.params.values()) setTrainable(p, true);
const rng = new Rng(99);
const tokens = new Int32Array(B * T).map(() => rng.int(config.vocabSize));
const targets = new Int32Array(B * T).map(() => rng.int(config.vocabSize));
const work = mkdtempSync(join(tmpdir(), "crossmon-bench-"));
saveModel(model, work);
writeFileSync(join(work, "batch.json"), JSON.stringify({ B, T, tokens: [...tokens], targets: [...targets] }));

const k = kernels();
const opt = new AdamW(k, model.trainableParams(), { weightDecay: 0.1 });
const batch = { tokens, B, T, validLen: null };
const allRows = Int32Array.from({ length: B * T }, (_, i) => i);
const weights = new Float32Array(B * T).fill(1);
const trainStep = () => {
  const { logits, tape } = model.forward(batch, allRows, { train: true });
  k.crossEntropy(logits, targets, weights, B * T, config.vocabSize, 1 / (B * T));
  model.backward(tape!, logits);
  clipGradNorm(k, opt.params, 1);
  opt.apply(1e-4);
  opt.zeroGrad();
};
const prefill = () => void model.forward(batch, allRows);
const crossmonTrain = (B * T) / timed(trainStep, STEPS);
const crossmonPrefill = (B * T) / timed(prefill, STEPS);

// PyTorch at each thread count; the best is the reference
let torch: { train_tokens_per_s: number; prefill_tokens_per_s: number; threads: number; torch: string } | null = null;
let torchNote = "";
const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
if (probe.status !== 0)
  torchNote = `PyTorch is not installed for ${PYTHON} (set CROSSMON_PYTHON to one with torch): crossmon's figures only`;
else {
  for (const threads of [1, 2]) {
    const r = spawnSync(PYTHON, [join(import.meta.dirname, "torch_engine.py"), work, String(threads), String(STEPS)], {
      encoding: "utf8",
      env: peerEnv(),
    });
    if (r.status !== 0) {
      torchNote = `torch run failed: ${r.stderr.split("\n").slice(-3).join(" ")}`;
      continue;
    }
    const res = JSON.parse(r.stdout.trim().split("\n").pop()!);
    if (!torch || res.train_tokens_per_s > torch.train_tokens_per_s) torch = res;
  }
}
rmSync(work, { recursive: true });

const gemm = nativeKernels() ? benchGemm(0.25, 2) : null;
const round = (x: number) => Math.round(x);
console.log(
  JSON.stringify({
    kernels: k.name,
    gemm_backend: nativeKernels()?.info().gemm ?? "reference",
    gemm_plan: nativeKernels()?.info().gemmPlan ?? null,
    crossmon_train_tokens_per_s: round(crossmonTrain),
    torch_train_tokens_per_s: torch ? round(torch.train_tokens_per_s) : null,
    train_ratio: torch ? +(crossmonTrain / torch.train_tokens_per_s).toFixed(3) : null,
    crossmon_prefill_tokens_per_s: round(crossmonPrefill),
    torch_prefill_tokens_per_s: torch ? round(torch.prefill_tokens_per_s) : null,
    prefill_ratio: torch ? +(crossmonPrefill / torch.prefill_tokens_per_s).toFixed(3) : null,
    torch_threads: torch?.threads ?? null,
    own_gemm_gflops: gemm?.own_gemm_gflops ?? null,
    openblas_gemm_gflops: gemm?.openblas_gemm_gflops ?? null,
    own_gemm_ratio: gemm?.own_gemm_ratio ?? null,
    simd: gemm?.simd ?? null,
    threads: gemm?.threads ?? 1,
    ...(torchNote ? { note: torchNote } : {}),
  }),
);
