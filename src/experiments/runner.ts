/**
 * Running an experiment: plan its cells, train and evaluate what the store does not already hold, then analyse.
 * Killed at any moment, the same command resumes: finished cells are read back, never recomputed or duplicated.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withFolderLock } from "../core/lock.js";
import YAML from "yaml";
import type { Backend, ModelRef, TrainState } from "../backends/types.js";
import { LocalBackend } from "../backends/local.js";
import { InputError } from "../core/errors.js";
import { HfTokenizer } from "../engine/io/tokenizer.js";
import { withThreads } from "../engine/kernels/index.js";
import type { Example } from "../data/task.js";
import { Renderer } from "../formats/render.js";
import { trainingContext, type TrainContext } from "../train/run.js";
import type { TrainSpec } from "../train/spec.js";
import { formatDuration, Progress } from "../core/progress.js";
import { modelFingerprint } from "../engine/io/fingerprint.js";
import { evalSingleToken, evalSummary, evalThinking, type EvalContext } from "../eval/evaluate.js";
import { planExperiment, type EvalCell, type Plan, type TrainCell } from "./plan.js";
import { CellClock } from "./eta.js";
import type { ExperimentSpec } from "./spec.js";
import { Store, type PredictionRow } from "./store.js";

export interface RunOptions {
  backend?: Backend;
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

function examplesOf(ctx: TrainContext, task: string, split: EvalCell["split"], n: number): Example[] {
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

async function run(spec: ExperimentSpec, dir: string, o: RunOptions): Promise<RunContext> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const backend: Backend = o.backend ?? new LocalBackend();
  const trainSpecOf = (cell: TrainCell, pseudo?: Record<string, boolean>): TrainSpec => ({
    base_model: spec.base_model,
    seed: spec.seed,
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
  });
  const tctx = await trainingContext(
    trainSpecOf({
      key: "",
      label: "",
      stages: [
        {
          name: "x",
          mixture: { classification: [], prompt_contrast: false, contrast_exclude: [], source_weights: {} },
        },
      ],
    }),
  );
  const fingerprint = modelFingerprint(spec.base_model);
  const plan = planExperiment(spec, fingerprint);
  // every task named anywhere must exist before any work starts
  for (const c of plan.evals) examplesOf(tctx, c.task, c.split, 1);
  for (const line of shortEvalNotes(plan.evals, tctx)) log(line);
  for (const c of plan.train)
    for (const st of c.stages) for (const p of st.mixture.classification) examplesOf(tctx, p.task, "train", 1);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "experiment.yaml"), YAML.stringify(spec));
  const store = new Store(join(dir, "store.sqlite"));
  store.setMeta("spec", spec);
  store.setMeta("plan", plan);
  store.setMeta("base_fingerprint", fingerprint);
  const renderer = new Renderer(HfTokenizer.load(spec.base_model), spec.train.hyper.max_tokens);
  const ectx: EvalContext = { backend, renderer, store, fingerprint };
  const modelOf = (key: string | null): ModelRef => {
    if (key === null) return { base: spec.base_model };
    const r = store.result<ModelRef>(key);
    if (!r) throw new Error(`model ${key} is not trained yet`);
    return r;
  };

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
    const t = Date.now();
    store.start(c.key, "eval", c);
    const task = tctx.splits.find((x) => x.task.id === c.task)!.task;
    const ex = examplesOf(tctx, c.task, c.split, c.examples);
    const ref = modelOf(c.model);
    const labelOf = (e: Example) => (c.split === "pool" ? -1 : e.label ? 1 : 0); // -1: no label to know
    const rows: PredictionRow[] = [];
    let result: Record<string, unknown>;
    if (c.format === "single") {
      const r = await evalSingleToken(ectx, ref, task, ex);
      ex.forEach((e, i) =>
        rows.push({
          task: c.task,
          example: e.id,
          format: c.format,
          label: labelOf(e),
          score: r.scores[i],
          extra: { mass: r.mass[i] },
        }),
      );
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
      ex.forEach((e, i) =>
        rows.push({
          task: c.task,
          example: e.id,
          format: c.format,
          label: labelOf(e),
          score: r.scores[i],
          extra: { verdicts: r.verdicts[i], trace: r.traces[i][0] },
        }),
      );
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
      ex.forEach((e, i) =>
        rows.push({
          task: c.task,
          example: e.id,
          format: c.format,
          label: labelOf(e),
          score: r.kept[i] === null ? -1 : r.kept[i] ? 1 : 0,
          extra: { summary: r.summaries[i] },
        }),
      );
      result = { n: ex.length, judged: r.judged };
    }
    store.finish(c.key, result, rows, (Date.now() - t) / 1000);
    tick(c, (Date.now() - t) / 1000, `${c.format} ${c.task}`);
  };

  // elicitation's pseudo-labels come from an evaluation, which must run before its training cell
  for (const c of plan.train.filter((x) => x.pseudoFrom)) {
    const src = plan.evals.find((e) => e.key === c.pseudoFrom!.replace(/:true-labels$/, ""));
    if (src) await runEval(src);
  }
  const pseudoOf = (c: TrainCell): Record<string, boolean> | undefined => {
    if (!c.pseudoFrom) return undefined;
    const trueLabels = c.pseudoFrom.endsWith(":true-labels");
    const preds = store.predictions(c.pseudoFrom.replace(/:true-labels$/, ""));
    return Object.fromEntries(preds.map((p) => [p.example, trueLabels ? p.label === 1 : p.score >= 0.5]));
  };
  // what a training backend must not lose to a kill (a hosted job's id) lives in the store, beside the results
  const stateOf = (c: TrainCell): TrainState => ({
    get: () => store.getMeta(`train-state:${c.key}`),
    set: (v) => store.setMeta(`train-state:${c.key}`, v),
  });
  const untrained = plan.train.filter((c) => !store.result(c.key));
  await backend.prepareTraining?.(
    untrained.map((c) => ({ spec: trainSpecOf(c, pseudoOf(c)), state: stateOf(c) })),
    { context: tctx, log },
  );
  for (const c of untrained) {
    const t = Date.now();
    store.start(c.key, "train", c);
    log(`training ${c.label}`);
    const ref = await backend.train(trainSpecOf(c, pseudoOf(c)), join(dir, "train", c.key), {
      quiet: true,
      log: backend.reportsTraining ? log : () => {},
      context: tctx,
      state: stateOf(c),
    });
    store.finish(c.key, ref, [], (Date.now() - t) / 1000);
    tick(c, (Date.now() - t) / 1000, `train ${c.label}`);
  }
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
