/**
 * `npm run bench -- long-context`: scoring one long text (single-token, logits at its last position) against its
 * length, each length in a process of its own so that each peak is its own: time and peak RSS, with the weights'
 * own size beside them. Scoring keeps no T×T attention matrix (queries in blocks against the keys, the probabilities
 * kept only when training), so memory above the weights should grow linearly in length: `rss_per_1k_tokens` is the
 * growth between successive lengths, which stays flat where it is linear.
 *
 * Models: a random checkpoint of Qwen3-0.6B's shape (28 layers, d 1024, 16 heads, 8 kv heads, head 128, SwiGLU 3072,
 * vocab 151,936, tied) written as BF16 and held 16-bit, at 1k–8k tokens; and the shipped base model
 * (models/crossmon-base) up to its context (2,048 positions). `npm run bench -- long-context MODEL TOKENS` runs one.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeHfConfig } from "../src/engine/config.js";
import { loadModel } from "../src/engine/io/checkpoint.js";
import { paramSize } from "../src/engine/params.js";
import { Rng } from "../src/core/random.js";
import { nextTokenLogprobs } from "../src/engine/score.js";
import { qwen3Layout } from "./lib/model-shape.js";
import { writeRandomBf16 } from "./lib/random-checkpoint.js";

const SHAPE_06B = makeHfConfig({ ...qwen3Layout(), vocabSize: 151936, hidden: 1024, intermediate: 3072 });
const PLAN: { model: string; tokens: number[] }[] = [
  { model: "qwen3-0.6b-shape-bf16", tokens: [1024, 2048, 4096, 8192] },
  { model: "crossmon-base", tokens: [256, 1024, 2048] },
];

function one(model: string, tokens: number, dir: string): Record<string, unknown> {
  const path = model === "crossmon-base" ? "models/crossmon-base" : dir;
  const m = loadModel(path);
  const weightsBytes = [...m.params.values()].reduce((s, p) => s + paramSize(p) * (p.half ? 2 : 4), 0);
  const before = process.resourceUsage().maxRSS / 1024;
  const rng = new Rng(5);
  const ids = Array.from({ length: tokens }, () => rng.int(m.config.vocabSize));
  const t = performance.now();
  const [lp] = nextTokenLogprobs(m, [ids], 1);
  const seconds = (performance.now() - t) / 1000;
  const peak = process.resourceUsage().maxRSS / 1024;
  return {
    model,
    tokens,
    seconds: +seconds.toFixed(2),
    tokens_per_s: Math.round(tokens / seconds),
    weights_mib: Math.round(weightsBytes / 2 ** 20),
    rss_after_load_mib: Math.round(before),
    peak_rss_mib: Math.round(peak),
    finite: lp.every(Number.isFinite),
  };
}

const [, , onlyModel, onlyTokens, dirArg] = process.argv;
if (onlyModel && onlyTokens) {
  console.log(JSON.stringify(one(onlyModel, Number(onlyTokens), dirArg ?? "")));
} else {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-long-"));
  try {
    writeRandomBf16(SHAPE_06B, dir);
    for (const p of PLAN) {
      let last: { tokens: number; peak: number } | null = null;
      for (const tokens of p.tokens) {
        const r = spawnSync(
          process.execPath,
          ["--import", "tsx", "bench/long-context.ts", p.model, String(tokens), dir],
          {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
          },
        );
        if (r.status !== 0) throw new Error(`${p.model} at ${tokens} tokens failed (exit ${r.status})`);
        const row = JSON.parse(r.stdout.trim().split("\n").pop() as string) as Record<string, number>;
        const growth = last ? ((row.peak_rss_mib - last.peak) / (tokens - last.tokens)) * 1024 : null;
        console.log(JSON.stringify({ ...row, rss_per_1k_tokens_mib: growth === null ? null : Math.round(growth) }));
        last = { tokens, peak: row.peak_rss_mib };
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
