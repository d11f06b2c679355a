/** Reopening a finished (or partly finished) run from its store, for `crossmon report`, computing nothing. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../core/errors.js";
import { runTrainingContext } from "./cells.js";
import { normalisePlan, planExperiment, type Plan } from "./plan.js";
import { parseExperimentSpec, type ExperimentSpec } from "./spec.js";
import { Store } from "./store.js";
import type { RunContext } from "./runner.js";

/** How many of a run's cells are done. */
export function runProgress(run: Pick<RunContext, "plan" | "store">): { done: number; total: number } {
  const cells = [...run.plan.train, ...run.plan.evals];
  return { done: cells.filter((c) => run.store.result(c.key)).length, total: cells.length };
}

/** Opens a run folder's store; `partial` accepts a run still in progress (or killed) as it stands. */
export async function openRun(dir: string, o: { partial?: boolean } = {}): Promise<RunContext> {
  const file = join(dir, "store.sqlite");
  if (!existsSync(file)) throw new InputError("no store.sqlite here: not a crossmon run folder", dir);
  let store: Store;
  let raw: ExperimentSpec | undefined;
  try {
    store = new Store(file);
    raw = store.getMeta<ExperimentSpec>("spec");
  } catch (e) {
    throw new InputError(`not a readable run store (${(e as Error).message})`, file);
  }
  if (!raw) throw new InputError("the store holds no experiment spec", file);
  const spec = parseExperimentSpec(raw, file);
  // the plan the run was made with (its keys carry the base model's fingerprint at that time)
  const stored = store.getMeta<Plan>("plan");
  const plan = stored
    ? normalisePlan(stored)
    : planExperiment(spec, store.getMeta<string | null>("base_fingerprint") ?? null);
  const missing = [...plan.train, ...plan.evals].filter((c) => !store.result(c.key)).length;
  if (missing && !o.partial)
    throw new InputError(
      `the run is incomplete: ${missing} of ${plan.train.length + plan.evals.length} cells missing (rerun the same ` +
        `command to finish it)`,
      dir,
    );
  const train = await runTrainingContext(spec);
  return { spec, dir, store, plan, train };
}
