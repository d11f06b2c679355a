/**
 * Running an experiment: plan its cells, train and evaluate what the store does not already hold, then analyse.
 * Killed at any moment, the same command resumes: finished cells are read back, never recomputed or duplicated.
 */
import { readConfig } from "../engine/config.js";
import { splitSize } from "../data/transforms/derived.js";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withFolderLock } from "../core/lock.js";
import YAML from "yaml";
import type { Backend } from "../backends/types.js";
import { LocalBackend } from "../backends/local.js";
import { HfTokenizer } from "../engine/io/tokenizer.js";
import { withThreads } from "../engine/kernels/index.js";
import { Renderer } from "../formats/render.js";
import type { TrainContext } from "../train/run.js";
import { formatDuration, Progress } from "../core/progress.js";
import { modelFingerprint } from "../engine/io/fingerprint.js";
import {
  type CellEnv,
  examplesOf,
  pseudoOf,
  runEvalCell,
  runTrainCell,
  runTrainingContext,
  stateOf,
  trainSpecOf,
} from "./cells.js";
import { planExperiment, trainingNotes, type EvalCell, type Plan, type TrainCell } from "./plan.js";
import { CellClock } from "./eta.js";
import type { ExperimentSpec } from "./spec.js";
import { Store } from "./store.js";

export interface RunOptions {
  backend?: Backend;
  /** the run's tasks and splits, where the caller already built them for the same data (simulated studies) */
  context?: TrainContext;
  quiet?: boolean;
  log?: (line: string) => void;
}

export interface RunContext {
  spec: ExperimentSpec;
  dir: string;
  store: Store;
  plan: Plan;
  train: TrainContext;
}

/** A line for each evaluation count a split cannot give (once per task, split and count), with the count used. */
export function shortEvalNotes(evals: EvalCell[], ctx: TrainContext): string[] {
  const short = new Map<string, string>();
  for (const c of evals) {
    const have = examplesOf(ctx, c.task, c.split, c.examples).length;
    if (have < c.examples)
      short.set(
        `${c.task}/${c.split}/${c.examples}`,
        `eval: ${c.task} has ${have} ${c.split} examples; using ${have} where the spec asks for ${c.examples}`,
      );
  }
  return [...short.values()];
}

export async function runExperiment(spec: ExperimentSpec, dir: string, o: RunOptions = {}): Promise<RunContext> {
  // the spec's thread count holds for this experiment only: the caller's comes back after it, even on an error
  // one process at a time in the run folder: a second `crossmon run` into it refuses, naming the first
  return withFolderLock(dir, () => withThreads(spec.train.hyper.threads, () => run(spec, dir, o)));
}

/**
 * The run's plan with what it reads: the tasks (every one named anywhere checked before any work starts) and the
 * base model's fingerprint, which the plan's keys carry.
 */
export async function planRun(
  spec: ExperimentSpec,
  log: (line: string) => void,
  context?: TrainContext,
): Promise<{ train: TrainContext; fingerprint: string | null; plan: Plan }> {
  const train = context ?? (await runTrainingContext(spec));
  const fingerprint = modelFingerprint(spec.base_model);
  const sizes = new Map(train.splits.map((s) => [s.task.id, splitSize(s, "train")]));
  const evalOnly = new Set(train.splits.filter((s) => s.task.eval_only).map((s) => s.task.id));
  const plan = planExperiment(spec, fingerprint, sizes, evalOnly, modelContextOf(spec.base_model));
  for (const c of plan.evals) examplesOf(train, c.task, c.split, 1);
  for (const line of [...trainingNotes(spec, plan, sizes), ...shortEvalNotes(plan.evals, train)]) log(line);
  for (const c of plan.train)
    for (const st of c.stages) for (const p of st.mixture.classification) examplesOf(train, p.task, "train", 1);
  return { train, fingerprint, plan };
}

async function run(spec: ExperimentSpec, dir: string, o: RunOptions): Promise<RunContext> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const backend: Backend = o.backend ?? new LocalBackend();
  const { train: tctx, fingerprint, plan } = await planRun(spec, log, o.context);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "experiment.yaml"), YAML.stringify(spec));
  const store = new Store(join(dir, "store.sqlite"));
  store.setMeta("spec", spec);
  store.setMeta("plan", plan);
  store.setMeta("base_fingerprint", fingerprint);
  const renderer = new Renderer(HfTokenizer.load(spec.base_model), spec.train.hyper.max_tokens);
  const env: CellEnv = { spec, dir, train: tctx, store, backend, renderer, fingerprint, log };

  const total = plan.train.length + plan.evals.length;
  let done =
    plan.train.filter((c) => store.result(c.key)).length + plan.evals.filter((c) => store.result(c.key)).length;
  const progress = new Progress("study", total, { quiet: o.quiet, intervalMs: o.quiet ? undefined : 0 });
  const t0 = Date.now();
  let computed = 0;
  const clock = new CellClock(spec);
  const tick = (c: TrainCell | EvalCell, seconds: number, what: string) => {
    done++;
    computed++;
    clock.record(c, seconds);
    const left = [...plan.train, ...plan.evals].filter((x) => !store.result(x.key));
    progress.update(done, { cell: what }, clock.eta(left));
  };

  const runEval = async (c: EvalCell) => {
    if (store.result(c.key)) return;
    // which model a cell scores, by the name the plan gives it
    const model = c.model === null ? "untrained" : (plan.train.find((t) => t.key === c.model)?.label ?? c.model);
    tick(c, await runEvalCell(env, c), `${c.format} ${c.task} (${model})`);
  };

  // elicitation's pseudo-labels come from an evaluation, which must run before its training cell
  for (const c of plan.train.filter((x) => x.pseudoFrom)) {
    const src = plan.evals.find((e) => e.key === c.pseudoFrom);
    if (src) await runEval(src);
  }
  const untrained = plan.train.filter((c) => !store.result(c.key));
  await backend.prepareTraining?.(
    untrained.map((c) => ({ spec: trainSpecOf(spec, c, pseudoOf(store, c)), state: stateOf(store, c) })),
    { context: tctx, log },
  );
  for (const c of untrained) tick(c, await runTrainCell(env, c), `train ${c.label}`);
  // grouped by model (the plan lists them by experiment, alternating models), so that a backend that keeps one model
  // loaded at a time (the worker, on a GPU) loads each once; every cell's result is the same in any order
  const byModel = [...plan.evals].sort((a, b) => (a.model ?? "").localeCompare(b.model ?? ""));
  for (const c of byModel) await runEval(c);
  if (!o.quiet)
    log(
      `study cells done in ${formatDuration((Date.now() - t0) / 1000)} (${computed} computed, ${total - computed} ` +
        `from the store)`,
    );
  return { spec, dir, store, plan, train: tctx };
}

export function hasStore(dir: string): boolean {
  return existsSync(join(dir, "store.sqlite"));
}

/** The base model's context in tokens, where its config can be read here (a hosted model's is not known). */
function modelContextOf(base: string): number | undefined {
  try {
    return readConfig(base).maxPositions;
  } catch {
    return undefined;
  }
}
