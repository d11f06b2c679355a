/**
 * `crossmon pretrain`: the base model of the built-in study, trained from scratch: a byte-level BPE tokenizer with a
 * chat template, then a small Llama-family model on the world's texts (other seeds than the evaluation world),
 * instruction-following conversations and yes/no reading questions in the classification layouts. It never sees an
 * evaluation task's question, let alone its labels: it plays the paper's "prompted model before monitor training".
 * Its parts: the recipe (recipe.ts), the tokenizer (tokenizer.ts), the streams (streams.ts), the corpus cache
 * (corpus.ts), the phases (phases.ts); this file runs them in order, resumes after a kill, and writes the model.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHfConfig, parseConfig } from "../../engine/config.js";
import { saveModel } from "../../engine/io/checkpoint.js";
import { HfTokenizer } from "../../engine/io/tokenizer.js";
import { Transformer } from "../../engine/model.js";
import { setTrainable } from "../../engine/params.js";
import { nativeKernels } from "../../engine/kernels/index.js";
import { readSafetensors } from "../../engine/io/safetensors.js";
import { Renderer } from "../../formats/render.js";
import { runLoop, type LoopResult } from "../loop.js";
import { readCheckpointState } from "../checkpoint.js";
import { type Phase, type PhaseName, phaseSchedule, trainingCurve } from "./phases.js";
import { type PretrainOptions, SHIPPED_RECIPE } from "./recipe.js";
import { trainTokenizer } from "./tokenizer.js";
import { instructPhaseStream, packedBatches, phaseBatchSeed, readingPhaseStream } from "./streams.js";
import { corpusTokens, loadOrBuildCorpus } from "./corpus.js";

export { CHAT_TEMPLATE, SHIPPED_RECIPE, SPECIAL_TOKENS, TOY_RECIPE, type PretrainOptions } from "./recipe.js";
export { phaseSchedule, type PhaseName } from "./phases.js";
export {
  instructPhaseStream,
  packedBatches,
  phaseBatchSeed,
  pretrainCorpusStream,
  pretrainWorldSeed,
  readingPhaseStream,
} from "./streams.js";

/**
 * What the weights depend on besides the recipe: with OpenBLAS, the thread count (its sums are split by thread; the
 * own GEMM's are not), so a rebuild reproduces the weights bit for bit on the same kernels, GEMM and thread count.
 */
function engineOf(): Record<string, unknown> {
  const info = nativeKernels()?.info();
  return info
    ? { kernels: "native", threads: info.threads, gemm: info.gemm, gemm_plan: info.gemmPlan, simd: info.simd }
    : { kernels: "reference" };
}

export interface PretrainResult {
  dir: string;
  loop: LoopResult;
  parameters: number;
  corpusTokens: number;
}

export function pretrain(opts: PretrainOptions): PretrainResult {
  const o = {
    ...SHIPPED_RECIPE,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
  } as Required<PretrainOptions>;
  const log = o.log ?? (() => {});
  mkdirSync(o.out, { recursive: true });
  const work = join(o.out, "work");
  mkdirSync(work, { recursive: true });
  if (!existsSync(join(o.out, "tokenizer.json"))) {
    log("training the tokenizer");
    trainTokenizer(o.out, o);
  }
  const tok = HfTokenizer.load(o.out);
  const renderer = new Renderer(tok, 1024);
  const corpus = () => loadOrBuildCorpus(work, o, tok, renderer, log);
  const hf = makeHfConfig({
    vocabSize: tok.vocabSize,
    hidden: o.hidden,
    intermediate: o.intermediate,
    layers: o.layers,
    heads: o.heads,
    kvHeads: o.kvHeads,
    tieEmbeddings: true,
    maxPositions: 2048,
    eosTokenId: tok.tokenId("<|im_end|>"),
    rmsEps: 1e-5,
  });
  const model = new Transformer(parseConfig(hf));
  model.initRandom(o.seed, 0.02);
  for (const p of model.params.values()) setTrainable(p, true);
  const deadline = o.minutes ? Date.now() + o.minutes * 60_000 : undefined;
  const streams: Record<PhaseName, () => { ids: Int32Array; weights: Float32Array }> = {
    pretrain: () => corpus(),
    instruct: () => instructPhaseStream(o, renderer),
    reading: () => readingPhaseStream(o, renderer),
  };
  const phases: Phase[] = phaseSchedule(o)
    .map((p) => ({ ...p, stream: streams[p.name] }))
    // a phase keeps its number (work/phaseN, its batch seed) when an earlier one is switched off
    .map((p, n) => ({ ...p, n }))
    .filter((p) => p.steps > 0);
  const phaseDir = (i: number) => join(work, `phase${phases[i].n + 1}`);
  const finishedAt = (i: number) =>
    (readCheckpointState(join(phaseDir(i), "checkpoint"))?.step ?? -1) >= phases[i].steps;
  // resume after the last finished phase: its weights start the next one (whose own checkpoint, if any, wins) or
  // are the model when every phase is done
  let first = 0;
  for (let i = phases.length - 1; i >= 0; i--)
    if (finishedAt(i)) {
      first = i + 1;
      break;
    }
  if (first > 0 && (first === phases.length || !existsSync(join(phaseDir(first), "checkpoint")))) {
    const params = readSafetensors(join(phaseDir(first - 1), "checkpoint", "params.safetensors"));
    for (const p of model.trainableParams()) {
      const t = params.get(p.name);
      if (!t) throw new Error(`${phaseDir(first - 1)}: its checkpoint lacks ${p.name}`);
      p.data.set(t.data);
    }
  }
  let loop: LoopResult = { steps: 0, finished: true, seconds: 0, lastLoss: NaN, tokens: 0 };
  for (let i = first; i < phases.length && loop.finished; i++) {
    const ph = phases[i];
    const s = ph.stream();
    log(`${ph.name} phase: ${s.ids.length} tokens`);
    loop = runLoop(model, {
      dir: phaseDir(i),
      steps: ph.steps,
      batchAt: packedBatches(s.ids, s.weights, o, phaseBatchSeed(o.seed, ph.n)),
      lr: ph.lr,
      schedule: { warmupSteps: ph.warmup, kind: "cosine", minRatio: 0.1 },
      maxGradNorm: 1,
      weightDecay: 0.1,
      checkpointEvery: Math.max(10, Math.floor(ph.steps / (ph.n === 0 ? 30 : 20))),
      label: ph.name,
      quiet: o.quiet,
      deadline,
    });
  }
  const parameters = [...model.params.values()].reduce((s, p) => s + p.data.length, 0);
  if (loop.finished) {
    saveModel(model, o.out, "F32");
    writeFileSync(
      join(o.out, "training_curve.jsonl"),
      trainingCurve(
        o.out,
        phases.map((p, i) => ({ name: p.name, metrics: join(phaseDir(i), "metrics.jsonl") })),
      ),
    );
    // the measured cost: the seconds of every step, from the curves (so a resumed run counts all of them)
    const steps = readFileSync(join(o.out, "training_curve.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { tokens: number; tokens_per_s: number; loss: number });
    const seconds = steps.reduce((s, x) => s + x.tokens / x.tokens_per_s, 0);
    writeFileSync(
      join(o.out, "recipe.json"),
      JSON.stringify(
        {
          ...o,
          log: undefined,
          out: undefined,
          quiet: undefined,
          minutes: undefined,
          parameters,
          corpus_tokens: corpusTokens(work, o.out, corpus),
          tokens_seen: steps.reduce((s, x) => s + x.tokens, 0),
          training_seconds: Math.round(seconds),
          last_loss: steps.at(-1)?.loss ?? null,
          engine: engineOf(),
        },
        null,
        2,
      ),
    );
  }
  return { dir: o.out, loop, parameters, corpusTokens: corpusTokens(work, o.out, corpus) };
}
