/**
 * `crossmon train SPEC.yaml`: a training run of one or more stages (classification, IF, mixed, or one after the
 * other). Everything is validated and every mixture built before the first step; each stage checkpoints and
 * resumes; the output is a PEFT adapter (LoRA) or a Hugging Face model folder (full), with the resolved spec,
 * metrics as JSON lines and the dilution of each stage as trained.
 */
import { z } from "zod";
import { readJsonAs } from "../core/errors.js";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import YAML from "yaml";
import { readConfig } from "../engine/config.js";
import { linearNamesOf } from "../engine/model.js";
import { withFolderLock } from "../core/lock.js";
import { resolveModelDir } from "../hub/resolve.js";
import { InputError } from "../core/errors.js";
import { modelFingerprint } from "../engine/io/fingerprint.js";
import { loadModel, loadWeights, saveModel } from "../engine/io/checkpoint.js";
import { loadAdapter, saveAdapter } from "../engine/io/peft.js";
import { HfTokenizer } from "../engine/io/tokenizer.js";
import { withThreads } from "../engine/kernels/index.js";
import { addLora, resolveTargets } from "../engine/lora.js";
import { setTrainable } from "../engine/params.js";
import { deriveSeed, Rng } from "../core/random.js";
import type { WeightedSequence } from "../engine/sequences.js";
import { loadSources } from "../data/sources.js";
import { splitTasks, type SplitTask } from "../data/splits.js";
import { generateInstructionData, type IfExample } from "../data/world/instructions.js";
import { Renderer } from "../formats/render.js";
import {
  buildMixture,
  dilution,
  formatDilution,
  type DilutionRow,
  type MixItem,
  type MixtureSpec,
} from "../mix/mixture.js";
import { runLoop } from "./loop.js";
import type { TrainSpec } from "./spec.js";

export interface TrainContext {
  splits: SplitTask[];
  ifPool: IfExample[];
  renderer: Renderer;
  tok: HfTokenizer;
}

const StageReport = z.object({
  name: z.string(),
  steps: z.number().int().nonnegative(),
  dilution: z.array(
    z.object({
      source: z.enum(["classification", "instruction", "contrast"]),
      examples: z.number(),
      lossTokens: z.number(),
      lossWeight: z.number(),
      share: z.number(),
    }),
  ),
  truncated: z.number().int().nonnegative(),
  seconds: z.number(),
  // a NaN loss is written as null
  lastLoss: z
    .number()
    .nullable()
    .transform((v) => v ?? Number.NaN),
});
export type StageReport = z.infer<typeof StageReport> & { dilution: DilutionRow[] };

export interface TrainResult {
  dir: string;
  output: string;
  stages: StageReport[];
  finished: boolean;
}

/**
 * The base an adapter's config names: a folder as its absolute path (a relative one meant nothing once the adapter
 * moved), a hub id as it is.
 */
function baseForAdapter(base: string): string {
  return existsSync(base) ? resolve(base) : base;
}

export async function trainingContext(spec: TrainSpec): Promise<TrainContext> {
  readConfig(spec.base_model); // a missing or malformed model is reported before anything else
  const tok = HfTokenizer.load(spec.base_model);
  const tasks = await loadSources(spec.data, { allowOutside: spec.data.allow_outside });
  return {
    splits: splitTasks(tasks, spec.data.split_seed),
    ifPool: generateInstructionData({
      seed: deriveSeed(spec.seed, "instruction-pool"),
      size: spec.data.instruction_pool,
    }),
    renderer: new Renderer(tok, spec.hyper.max_tokens),
    tok,
  };
}

/** The seed of one use in stage i of a training: its mixture's draw, or its batches' order. */
export function stageSeed(seed: number, stage: number, use: "mixture" | "schedule"): number {
  return deriveSeed(seed, `stage.${stage}.${use}`);
}

/** Stage i's mixture, drawn with that stage's own seed. */
export function mixtureOf(spec: TrainSpec, stage: number): MixtureSpec {
  const m = spec.stages[stage].mixture;
  return {
    classification: m.classification.map((c) => ({
      task: c.task,
      examples: c.examples,
      pseudoLabels: c.pseudo_labels ? new Map(Object.entries(c.pseudo_labels)) : undefined,
    })),
    instruction: m.instruction,
    promptContrast: m.prompt_contrast,
    contrastExclude: m.contrast_exclude,
    sourceWeights: m.source_weights,
    seed: stageSeed(spec.seed, stage, "mixture"),
  };
}

/** The items each step trains on: epochs of the mixture, each in its own seeded order. */
export function scheduleOf(items: MixItem[], epochs: number, batchSize: number, microBatch: number, seed: number) {
  const steps = Math.max(1, Math.ceil((items.length * epochs) / batchSize));
  const orders = new Map<number, number[]>();
  const orderOf = (epoch: number) => {
    let o = orders.get(epoch);
    if (!o) {
      o = new Rng(deriveSeed(seed, `epoch.${epoch}`)).shuffle(items.map((_, i) => i));
      orders.set(epoch, o);
    }
    return o;
  };
  const itemsAt = (step: number): MixItem[] => {
    const out: MixItem[] = [];
    for (let k = 0; k < batchSize; k++) {
      const flat = step * batchSize + k;
      if (flat >= items.length * epochs) break;
      out.push(items[orderOf(Math.floor(flat / items.length))[flat % items.length]]);
    }
    return out;
  };
  const batchAt = (step: number): WeightedSequence[][] => {
    const all = itemsAt(step);
    const mbs: WeightedSequence[][] = [];
    for (let i = 0; i < all.length; i += microBatch) mbs.push(all.slice(i, i + microBatch));
    return mbs;
  };
  return { steps, itemsAt, batchAt };
}

export async function runTraining(
  spec: TrainSpec,
  dir: string,
  o: { quiet?: boolean; log?: (l: string) => void; context?: TrainContext } = {},
): Promise<TrainResult> {
  // the spec's thread count holds for this training only: the caller's comes back after it, even on an error; one
  // process at a time in the folder (two would both write every step)
  return withFolderLock(dir, () => withThreads(spec.hyper.threads, () => train(spec, dir, o)));
}

async function train(
  spec: TrainSpec,
  dir: string,
  o: { quiet?: boolean; log?: (l: string) => void; context?: TrainContext },
): Promise<TrainResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (spec.method === "lora") resolveTargets(spec.lora.targets, linearNamesOf(readConfig(spec.base_model)));
  const ctx = o.context ?? (await trainingContext(spec));
  // every stage's mixture is built (and so validated) before any training
  const mixtures = spec.stages.map((_, i) => buildMixture(mixtureOf(spec, i), ctx.splits, ctx.ifPool, ctx.renderer));
  mkdirSync(dir, { recursive: true });
  // a resumed run must continue the same training: same spec, same base weights (checked by content, not by path)
  const resolved = YAML.stringify(spec);
  // (the path itself is in the spec; this is what lies at it)
  const base = JSON.stringify({ fingerprint: modelFingerprint(spec.base_model) }, null, 2);
  const started = [join(dir, "spec.resolved.yaml"), join(dir, "base.json")].map((f) =>
    existsSync(f) ? readFileSync(f, "utf8") : null,
  );
  if (started[0] !== null && started[0] !== resolved)
    throw new InputError(
      "this run folder holds a training started from another spec: use a new output folder (or the same spec to " +
        "resume)",
      join(dir, "spec.resolved.yaml"),
    );
  if (started[1] !== null && started[1] !== base)
    throw new InputError(
      `the base model's files changed since this run started (${spec.base_model}): use a new output folder`,
      join(dir, "base.json"),
    );
  writeFileSync(join(dir, "spec.resolved.yaml"), resolved);
  writeFileSync(join(dir, "base.json"), base);

  const model = loadModel(spec.base_model);
  model.rng = new Rng(spec.seed);
  if (spec.method === "lora") addLora(model, { ...spec.lora, seed: spec.seed });
  else for (const p of model.params.values()) setTrainable(p, true);

  const reports: StageReport[] = [];
  for (let i = 0; i < spec.stages.length; i++) {
    const st = spec.stages[i];
    const sdir = join(dir, "stages", `${i + 1}-${st.name}`);
    const out = join(sdir, spec.method === "lora" ? "adapter" : "model");
    const done = join(sdir, "done.json");
    if (existsSync(done)) {
      // finished before a restart: load its weights and move on
      if (spec.method === "lora") loadAdapter(model, out, { trainable: true });
      else loadWeights(model, out);
      reports.push(readJsonAs(StageReport, done, "a finished stage's report"));
      continue;
    }
    const mix = mixtures[i];
    const epochs = st.epochs ?? spec.hyper.epochs;
    const sched = scheduleOf(
      mix.items,
      epochs,
      spec.hyper.batch_size,
      spec.hyper.micro_batch,
      stageSeed(spec.seed, i, "schedule"),
    );
    const trained: MixItem[] = [];
    for (let s = 0; s < sched.steps; s++) trained.push(...sched.itemsAt(s));
    const dil = dilution(trained);
    log(
      `stage ${i + 1}/${spec.stages.length} "${st.name}": ${sched.steps} steps; dilution as trained:\n` +
        formatDilution(dil) +
        (mix.truncated
          ? `\n${mix.truncated} example(s) had the middle of their text cut to fit ${spec.hyper.max_tokens} tokens`
          : ""),
    );
    const r = runLoop(model, {
      dir: sdir,
      steps: sched.steps,
      batchAt: sched.batchAt,
      lr: st.lr ?? spec.hyper.lr,
      schedule: { warmupSteps: Math.round(spec.hyper.warmup * sched.steps), kind: spec.hyper.schedule, minRatio: 0 },
      maxGradNorm: spec.hyper.max_grad_norm,
      weightDecay: spec.hyper.weight_decay,
      checkpointEvery: spec.hyper.checkpoint_every,
      label: `train ${st.name}`,
      quiet: o.quiet,
      metricsExtra: () => ({ stage: st.name }),
    });
    if (spec.method === "lora") saveAdapter(model, out, baseForAdapter(spec.base_model));
    else saveModel(model, out);
    const report: StageReport = {
      name: st.name,
      steps: r.steps,
      dilution: dil,
      truncated: mix.truncated,
      seconds: r.seconds,
      lastLoss: r.lastLoss,
    };
    writeFileSync(done, JSON.stringify(report, null, 2));
    reports.push(report);
  }
  const output = join(dir, spec.method === "lora" ? "adapter" : "model");
  if (spec.method === "lora") saveAdapter(model, output, baseForAdapter(spec.base_model));
  else {
    saveModel(model, output);
    const baseDir = resolveModelDir(spec.base_model);
    for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"])
      if (existsSync(join(baseDir, f))) copyFileSync(join(baseDir, f), join(output, f));
  }
  writeFileSync(
    join(dir, "dilution.json"),
    JSON.stringify(
      reports.map((r) => ({ stage: r.name, dilution: r.dilution, truncated: r.truncated })),
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, "metrics.jsonl"),
    reports
      .map((_, i) => {
        const f = join(dir, "stages", `${i + 1}-${spec.stages[i].name}`, "metrics.jsonl");
        return existsSync(f) ? readFileSync(f, "utf8") : "";
      })
      .join(""),
  );
  return { dir, output, stages: reports, finished: true };
}
