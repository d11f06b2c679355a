/**
 * From the store to results: each question's analysis by its module (src/experiments/questions/), and every
 * evaluation's metrics with bootstrap CIs. The sentences that say what they show are the questions' too.
 */
import { Analysis, MissingPredictions } from "./analysis.js";
import { QUESTIONS, type QuestionId } from "./questions/index.js";
import type { RunContext } from "./runner.js";
import type { ExperimentSpec } from "./spec.js";

export { Analysis, MissingPredictions, type Preds } from "./analysis.js";

/** A question's analysis, or undefined with the reason where cells it reads are missing (failed on a worker). */
function partOf<T>(name: string, incomplete: string[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof MissingPredictions)) throw e;
    incomplete.push(`${name}: ${e.message.replace(/: is the run complete\?$/, "")}`);
    return undefined;
  }
}

export function analyse(run: RunContext) {
  const a = new Analysis(run);
  const incomplete: string[] = [];
  // each question the spec asks, analysed by its module; one whose cells are missing is left out, and said so
  const answers: Partial<Record<QuestionId, unknown>> = {};
  for (const q of QUESTIONS) {
    const part = run.spec.experiments[q.id];
    if (!part) continue;
    const analyseIt = q.analyse as (a: Analysis, part: unknown, spec: ExperimentSpec) => unknown;
    const r = partOf(q.name, incomplete, () => analyseIt(a, part, run.spec));
    if (r !== undefined) answers[q.id] = r;
  }
  const evals = run.plan.evals.filter(
    (e) => e.format === "single" && e.split === "test" && Boolean(a.preds(e.model, e.task)),
  );
  const label = (m: string | null) =>
    m === null ? "untrained" : (Object.entries(run.plan.models).find(([, k]) => k === m)?.[0] ?? m);
  // a replicate's model: the label its replicates share
  const modelOf = (m: string | null) =>
    m === null ? null : (Object.entries(run.plan.replicates ?? {}).find(([, ks]) => ks.includes(m))?.[0] ?? label(m));
  const perModel = new Map<string, { model: string | null; task: string }>();
  for (const e of evals) perModel.set(`${modelOf(e.model)}\0${e.task}`, { model: modelOf(e.model), task: e.task });
  const replicates = Math.max(1, ...Object.values(run.plan.replicates ?? {}).map((ks) => ks.length));
  return {
    name: run.spec.name,
    base_model: run.spec.base_model,
    questions: answers,
    evaluations: evals.map((e) => ({
      key: e.key,
      model: label(e.model),
      task: e.task,
      ...a.metrics(e.model, e.task),
      mean_mass: (run.store.result<{ mean_mass: number }>(e.key) ?? { mean_mass: NaN }).mean_mass,
    })),
    /** the most replicates any trained model has: with 1, every interval covers test sampling only */
    replicates,
    /** each model (its replicates together) on each task it was evaluated on: what the run's counts count */
    models: [...perModel.values()].map(({ model, task }) => ({
      model: model ?? "untrained",
      task,
      replicates: a.keysOf(model).length,
      auroc: a.aurocOf(model, task),
    })),
    cells: run.store.cells(),
    /** cells that failed on a worker (a PostgreSQL run), and the questions left out for want of them */
    failed_cells: run.store.getMeta<string[]>("failed_cells") ?? [],
    incomplete,
  };
}
export type Analysed = ReturnType<typeof analyse>;
