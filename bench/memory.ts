/**
 * `npm run bench -- memory`: peak memory (RSS) and time per step of three workloads, each in a process of its own
 * (so each peak is its own), on random weights (memory does not depend on their values):
 *
 * - score-1.7b-bf16: single-token scoring of 512-token prompts (batch 1) with a checkpoint of Qwen3-1.7B's shape
 *   (28 layers, d 2048, 16 heads, 8 kv heads, head 128, SwiGLU 6144, vocab 151,936, tied) written as BF16 and held
 *   16-bit in memory;
 * - lora-0.5b-f32 and lora-0.5b-bf16: LoRA (r 16, all linear) training of Qwen2.5-0.5B's shape (24 layers, d 896,
 *   14 heads, 2 kv heads, SwiGLU 4864, vocab 151,936, tied), sequence 512, batch 1, loss on every token (the LM
 *   head's worst case), the base held F32 or BF16.
 *
 * `npm run bench -- memory CASE` runs one. Checkpoints go to a temporary folder, removed at the end.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeHfConfig, parseConfig } from "../src/engine/config.js";
import { loadModel } from "../src/engine/io/checkpoint.js";
import { addLora } from "../src/engine/lora.js";
import { Transformer } from "../src/engine/model.js";
import { AdamW } from "../src/engine/optim.js";
import { paramSize } from "../src/engine/params.js";
import { Rng } from "../src/core/random.js";
import { nextTokenLogprobs } from "../src/engine/score.js";
import { trainStep } from "../src/engine/train-step.js";
import { QWEN3_1_7B_LAYERS } from "./lib/model-shape.js";
import { writeRandomBf16 } from "./lib/random-checkpoint.js";

const SHAPES = {
  "1.7b": makeHfConfig({ ...QWEN3_1_7B_LAYERS, vocabSize: 151936 }),
  "0.5b": makeHfConfig({
    architecture: "Qwen2ForCausalLM",
    vocabSize: 151936,
    hidden: 896,
    intermediate: 4864,
    layers: 24,
    heads: 14,
    kvHeads: 2,
    tieEmbeddings: true,
    ropeTheta: 1e6,
  }),
};
const CASES = ["score-1.7b-bf16", "lora-0.5b-f32", "lora-0.5b-bf16"] as const;
const T = Number(process.env.SEQ ?? 512);

function peakGiB(): number {
  return +(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2);
}

function runCase(name: (typeof CASES)[number], dir: string): Record<string, unknown> {
  const t0 = performance.now();
  const rng = new Rng(3);
  const bf16 = name.endsWith("bf16");
  const shape = name.includes("1.7b") ? "1.7b" : "0.5b";
  let model: Transformer;
  if (bf16) model = loadModel(join(dir, shape));
  else {
    model = new Transformer(parseConfig(SHAPES[shape]));
    model.initRandom(1, 0.02);
  }
  const params = [...model.params.values()].reduce((s, p) => s + paramSize(p), 0);
  const ids = Array.from({ length: T + 1 }, () => rng.int(model.config.vocabSize));
  const times: number[] = [];
  let extra: Record<string, unknown> = {};
  if (name.startsWith("score")) {
    for (let s = 0; s < 2; s++) {
      const ts = performance.now();
      const [lp] = nextTokenLogprobs(model, [ids.slice(0, T)], 1);
      times.push((performance.now() - ts) / 1000);
      extra = { finite: lp.every(Number.isFinite) };
    }
  } else {
    addLora(model, { rank: 16, alpha: 32, dropout: 0.05, targets: ["all-linear"], seed: 1 });
    const opt = new AdamW(model.k, model.trainableParams(), { weightDecay: 0.0 });
    const seq = { ids, weights: ids.map((_, i) => (i === 0 ? 0 : 1)) };
    for (let s = 0; s < 2; s++) {
      const ts = performance.now();
      const loss = trainStep(model, opt, [[seq]], 1e-4, 1).loss;
      times.push((performance.now() - ts) / 1000);
      extra = { loss: +loss.toFixed(3), lora_params: model.trainableParams().reduce((a, p) => a + p.data.length, 0) };
    }
  }
  return {
    case: name,
    params,
    weights_in_memory: bf16 ? "BF16" : "F32",
    seq: T,
    batch: 1,
    peak_rss_gib: peakGiB(),
    step_seconds: times.map((x) => +x.toFixed(1)),
    setup_seconds: +((performance.now() - t0) / 1000 - times.reduce((a, b) => a + b, 0)).toFixed(1),
    ...extra,
  };
}

const [one, dirArg] = process.argv.slice(2);
if (one && (CASES as readonly string[]).includes(one) && dirArg) {
  console.log(JSON.stringify(runCase(one as (typeof CASES)[number], dirArg)));
} else {
  const wanted = one ? CASES.filter((c) => c === one) : [...CASES];
  if (wanted.length === 0) {
    console.error(`usage: npm run bench -- memory [${CASES.join("|")}]`);
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), "crossmon-memory-"));
  try {
    for (const c of wanted) {
      const shape = c.includes("1.7b") ? "1.7b" : "0.5b";
      if (c.endsWith("bf16")) writeRandomBf16(SHAPES[shape], join(dir, shape));
      const r = spawnSync(process.execPath, ["--import", "tsx", "bench/memory.ts", c, dir], {
        stdio: ["ignore", "inherit", "inherit"],
      });
      if (r.status !== 0) process.exit(r.status ?? 1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
