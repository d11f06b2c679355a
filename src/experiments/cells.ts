/**
 * One cell of an experiment, computed into a store: an evaluation (its predictions and summary) or a training (its
 * model). The same code runs a cell for `crossmon run` in one process and for `crossmon worker` on any machine, where
 * the store is the worker's local copy of what the cell needs.
 */
import { join } from "node:path";
import type { Backend, ModelRef, TrainState } from "../backends/types.js";
import { InputError } from "../core/errors.js";
import type { Example } from "../data/task.js";
import { type CallCache, type EvalContext, evalSingleToken, evalSummary, evalThinking } from "../eval/evaluate.js";
import { Renderer } from "../formats/render.js";
import type { Task } from "../data/task.js";
import { type TrainContext, trainingContext } from "../train/run.js";
import type { TrainSpec } from "../train/spec.js";
import type { EvalCell, TrainCell } from "./plan.js";
import { QUESTIONS } from "./questions/index.js";
import { type DerivedTaskSpec, withDerivedTasks } from "../data/transforms/derived.js";
import type { ExperimentSpec } from "./spec.js";
import type { PredictionRow, Store } from "./store.js";

export interface CellEnv {
  spec: ExperimentSpec;
  /** the run's folder (trainings write their models under train/) */
  dir: string;
  train: TrainContext;
  store: Store;
  backend: Backend;
  renderer: Renderer;
  fingerprint: string | null;
  /** where model calls are cached: the store, unless set (a worker reads its own, then the shared one) */
  calls?: CallCache;
  log: (line: string) => void;
}

export function examplesOf(ctx: TrainContext, task: string, split: EvalCell["split"], n: number): Example[] {
  const s = ctx.splits.find((x) => x.task.id === task);
  if (!s)
    throw new InputError(
      `unknown task "${task}" in the experiment (available: ${ctx.splits.map((x) => x.task.id).join(", ")})`,
    );
  if (split === "pool") {
    if (!s.task.pool?.length)
      throw new InputError(
        `task "${task}" has no unlabelled texts to pseudo-label (its manifest entry: unlabelled: true)`,
      );
    // the pool never has labels: false stands in, and no result reads it (its rows are stored with label -1)
    return s.task.pool.slice(0, n).map((e) => ({ ...e, label: false }));
  }
  return s[split].slice(0, n);
}

/** The cells a cell reads: an evaluation its trained model, an elicited training the evaluation it labels from. */
export function cellNeeds(c: TrainCell | EvalCell): string[] {
  if ("format" in c) return c.model ? [c.model] : [];
  return c.pseudoFrom ? [c.pseudoFrom] : [];
}

export function trainSpecOf(spec: ExperimentSpec, cell: TrainCell, pseudo?: Record<string, boolean>): TrainSpec {
  return {
    base_model: spec.base_model,
    seed: cell.seed ?? spec.seed,
    method: spec.train.method,
    lora: spec.train.lora,
    hyper: spec.train.hyper,
    data: spec.data,
    stages: pseudo
      ? cell.stages.map((st) => ({
          ...st,
          mixture: {
            ...st.mixture,
            classification: st.mixture.classification.map((c) => ({ ...c, pseudo_labels: pseudo })),
          },
        }))
      : cell.stages,
  };
}

/**
 * The run's tasks, splits and renderer, as every cell reads them (a training spec with no stage of its own), with
 * the transformed tasks its questions ask for beside them.
 */
export async function runTrainingContext(spec: ExperimentSpec): Promise<TrainContext> {
  const none = { classification: [], prompt_contrast: false, contrast_exclude: [], source_weights: {} };
  const ctx = await trainingContext(trainSpecOf(spec, { key: "", label: "", stages: [{ name: "x", mixture: none }] }));
  const wanted = QUESTIONS.flatMap((q) => {
    const part = spec.experiments[q.id];
    // each module's part of the spec, as its own schema typed it
    return part && q.derived ? (q.derived as (p: unknown, s: ExperimentSpec) => DerivedTaskSpec[])(part, spec) : [];
  });
  if (!wanted.length) return ctx;
  const tokens = (text: string) => ctx.tok.encode(text).length;
  const unknown = (field: string, task: string) =>
    new InputError(`${field}: unknown task "${task}" (available: ${ctx.splits.map((x) => x.task.id).join(", ")})`);
  return { ...ctx, splits: withDerivedTasks(ctx.splits, wanted, tokens, spec.seed, unknown) };
}

/** An elicited training's labels: the untrained model's verdicts (or the true labels, for the comparison). */
export function pseudoOf(store: Store, c: TrainCell): Record<string, boolean> | undefined {
  if (!c.pseudoFrom) return undefined;
  const preds = store.predictions(c.pseudoFrom);
  return Object.fromEntries(preds.map((p) => [p.example, c.trueLabels ? p.label === 1 : p.score >= 0.5]));
}

/** What a training backend must not lose to a kill (a hosted job's id) lives in the store, beside the results. */
export function stateOf(store: Store, c: TrainCell): TrainState {
  return {
    get: () => store.getMeta(`train-state:${c.key}`),
    set: (v) => store.setMeta(`train-state:${c.key}`, v),
  };
}

function modelOf(env: CellEnv, key: string | null): ModelRef {
  if (key === null) return { base: env.spec.base_model };
  const r = env.store.result<ModelRef>(key);
  if (!r) throw new Error(`model ${key} is not trained yet`);
  return r;
}

/** Trains the cell's model into the store (its result is the model's reference); returns the seconds it took. */
/** Runs a cell's work between its start and its end in the store; an error removes its start again. */
async function asCell<T>(store: Store, key: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    store.abandon(key);
    throw e;
  }
}

export function runTrainCell(env: CellEnv, c: TrainCell): Promise<number> {
  return asCell(env.store, c.key, () => trainCell(env, c));
}

export function runEvalCell(env: CellEnv, c: EvalCell): Promise<number> {
  return asCell(env.store, c.key, () => evalCell(env, c));
}

async function trainCell(env: CellEnv, c: TrainCell): Promise<number> {
  const t = Date.now();
  env.store.start(c.key, "train", c);
  env.log(`training ${c.label}`);
  const ref = await env.backend.train(trainSpecOf(env.spec, c, pseudoOf(env.store, c)), join(env.dir, "train", c.key), {
    quiet: true,
    log: env.backend.reportsTraining ? env.log : () => {},
    context: env.train,
    state: stateOf(env.store, c),
  });
  const seconds = (Date.now() - t) / 1000;
  env.store.finish(c.key, ref, [], seconds);
  return seconds;
}

/** Scores the cell's examples into the store (predictions and a summary); returns the seconds it took. */
async function evalCell(env: CellEnv, c: EvalCell): Promise<number> {
  const { spec, store, renderer } = env;
  const t = Date.now();
  store.start(c.key, "eval", c);
  const split = env.train.splits.find((x) => x.task.id === c.task);
  if (!split) throw new InputError(`unknown task "${c.task}" in the experiment`);
  const task = split.task;
  const ex = examplesOf(env.train, c.task, c.split, c.examples);
  const ref = modelOf(env, c.model);
  const ectx: EvalContext = {
    backend: env.backend,
    renderer: c.maxTokens ? new Renderer(renderer.tok, c.maxTokens) : renderer,
    calls: env.calls ?? store,
  };
  const labelOf = (e: Example) => (c.split === "pool" ? -1 : e.label ? 1 : 0); // -1: no label to know
  const row = (e: Example, score: number, extra: Record<string, unknown>): PredictionRow => ({
    task: c.task,
    example: e.id,
    format: c.format,
    label: labelOf(e),
    score,
    extra,
  });
  let rows: PredictionRow[];
  let result: Record<string, unknown>;
  if (c.format === "single") {
    if (c.maxTokens && (c.truncation ?? "error") === "error") refuseTruncated(ectx.renderer, task, ex, c.maxTokens);
    const r = await evalSingleToken(ectx, ref, task, ex);
    rows = ex.map((e, i) => row(e, r.scores[i], { mass: r.mass[i] }));
    result = {
      n: ex.length,
      mean_mass: r.mass.reduce((a, b) => a + b, 0) / Math.max(1, ex.length),
      truncated: r.truncated,
    };
  } else if (c.format === "thinking") {
    const th = spec.eval.thinking;
    const r = await evalThinking(ectx, ref, task, ex, {
      k: th.k,
      maxNewTokens: th.max_tokens,
      temperature: th.temperature,
      seed: spec.seed,
    });
    rows = ex.map((e, i) => row(e, r.scores[i], { verdicts: r.verdicts[i], trace: r.traces[i][0] }));
    result = { n: ex.length, unparseable: r.unparseable, traces: ex.length * th.k };
  } else {
    // without facts to check (users' tasks), the untrained base model judges whether a summary keeps what matters
    const r = await evalSummary(
      ectx,
      ref,
      task,
      ex,
      { k: 1, maxNewTokens: spec.eval.summary.max_tokens, temperature: 0, seed: spec.seed },
      { ref: { base: spec.base_model }, renderer },
    );
    rows = ex.map((e, i) => row(e, r.kept[i] === null ? -1 : r.kept[i] ? 1 : 0, { summary: r.summaries[i] }));
    result = { n: ex.length, judged: r.judged };
  }
  const seconds = (Date.now() - t) / 1000;
  store.finish(c.key, result, rows, seconds);
  return seconds;
}

/** A long input past its cell's budget is an error naming it, never cut silently (the spec may ask to cut instead). */
function refuseTruncated(renderer: Renderer, task: Task, examples: Example[], budget: number): void {
  for (const e of examples) {
    const r = renderer.cachedSingleToken(task, e);
    if (r.truncated)
      throw new InputError(
        `task "${task.id}", example "${e.id}": the prompt is longer than its budget of ${budget} tokens; ` +
          "choose shorter lengths, or truncate: middle to cut the text's middle",
      );
  }
}
