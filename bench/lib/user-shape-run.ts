/**
 * One measurement of the peers bench's user shapes, in a process of its own so that its peak RSS is its own:
 *   node --import tsx bench/lib/user-shape-run.ts crossmon-prefill|crossmon-lora|llamacpp-prefill PATH TOKENS REPS
 * PATH: the BF16 checkpoint folder (crossmon) or a GGUF file (llama.cpp). Prefill: one TOKENS-token prompt, logits at
 * its last position (how a monitor scores). LoRA: one AdamW step on one TOKENS-token example with the loss on its last
 * token (1-token SFT), rank 16 on every linear layer, the base frozen in BF16. After one untimed run of the same length
 * (the first allocates the buffers later runs reuse; on a VM its page faults alone take seconds; llama.cpp, which
 * allocates them with its context, warms up on 128 tokens), the median of REPS timed runs. Prints one JSON line:
 * tokens_per_s, seconds, peak_rss_mib.
 */
import { readFileSync } from "node:fs";
import { Rng } from "../../src/core/random.js";
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { nativeKernels } from "../../src/engine/kernels/index.js";
import { addLora } from "../../src/engine/lora.js";
import { AdamW } from "../../src/engine/optim.js";
import { nextTokenLogprobs } from "../../src/engine/score.js";
import { trainStep } from "../../src/engine/train-step.js";
import { median } from "./timing.js";

const [tool, path, tokensArg, repsArg] = process.argv.slice(2);
const T = Number(tokensArg);
const reps = Number(repsArg);
if (!path || !(T > 1) || !(reps >= 1)) throw new Error("usage: user-shape-run.ts TOOL PATH TOKENS REPS");
const threads = nativeKernels()?.info().threads ?? 1;
const rng = new Rng(7);
/** Random ids below 4,096 (every user shape's vocabulary holds them). */
const ids = (n: number) => Array.from({ length: n }, () => rng.int(4096));

async function timeRuns(run: (n: number) => Promise<void> | void, warmUp = T): Promise<number> {
  await run(warmUp);
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run(T);
    ts.push((performance.now() - t0) / 1000);
    if (process.env.CROSSMON_BENCH_TRACE) console.error(`run ${i + 1}: ${ts.at(-1)} s`);
  }
  return median(ts);
}

async function llamaCpp(file: string): Promise<number> {
  const { getLlama } = await import("node-llama-cpp");
  type Token = import("node-llama-cpp").Token;
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  const model = await llama.loadModel({ modelPath: file });
  const ctx = await model.createContext({ contextSize: T, batchSize: T, threads, flashAttention: true });
  const seq = ctx.getSequence();
  try {
    return await timeRuns(async (n) => {
      const toks = ids(n) as Token[];
      await seq.clearHistory();
      await seq.controlledEvaluate(toks.map((t, i) => (i === n - 1 ? [t, { generateNext: { logits: true } }] : t)));
    }, 128); // llama.cpp allocates its buffers for the whole context when it is created: a short warm-up does
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}

async function crossmon(dir: string, lora: boolean): Promise<number> {
  const model = loadModel(dir);
  if (!lora) return timeRuns((n) => void nextTokenLogprobs(model, [ids(n)], 1));
  addLora(model, { rank: 16, alpha: 32, dropout: 0, targets: ["all-linear"], seed: 1 });
  const opt = new AdamW(model.k, model.trainableParams(), { weightDecay: 0 });
  return timeRuns((n) => {
    const weights = new Float32Array(n);
    weights[n - 1] = 1;
    trainStep(model, opt, [[{ ids: ids(n), weights }]], 1e-4, 1);
  });
}

/** This process's own peak RSS (VmHWM): getrusage's maxrss would also count the pre-exec copy of the bench's
 * process it was forked from, which holds a whole checkpoint after the GGUF export. */
function peakRssMib(): number {
  const kib = /VmHWM:\s*(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return kib ? Math.round(Number(kib) / 1024) : Math.round(process.resourceUsage().maxRSS / 1024);
}

const seconds =
  tool === "llamacpp-prefill"
    ? await llamaCpp(path)
    : tool === "crossmon-prefill" || tool === "crossmon-lora"
      ? await crossmon(path, tool === "crossmon-lora")
      : Number.NaN;
if (Number.isNaN(seconds)) throw new Error(`unknown tool ${tool}`);
console.log(
  JSON.stringify({
    tokens_per_s: +(T / seconds).toFixed(2),
    seconds: +seconds.toFixed(3),
    peak_rss_mib: peakRssMib(),
  }),
);
