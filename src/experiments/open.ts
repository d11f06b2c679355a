/** Reopening a finished (or partly finished) run from its store, for `crossmon report`, computing nothing. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../core/errors.js";
import { trainingContext } from "../train/run.js";
import { planExperiment, type Plan } from "./plan.js";
import { parseExperimentSpec, type ExperimentSpec } from "./spec.js";
import { Store } from "./store.js";
import type { RunContext } from "./runner.js";

export async function openRun(dir: string): Promise<RunContext> {
  const file = join(dir, "store.sqlite");
  if (!existsSync(file)) throw new InputError("no store.sqlite here: not a crossmon run folder", dir);
  const store = new Store(file);
  const raw = store.getMeta<ExperimentSpec>("spec");
  if (!raw) throw new InputError("the store holds no experiment spec", file);
  const spec = parseExperimentSpec(raw, file);
  // the plan the run was made with (its keys carry the base model's fingerprint at that time)
  const plan =
    store.getMeta<Plan>("plan") ?? planExperiment(spec, store.getMeta<string | null>("base_fingerprint") ?? null);
  const missing = [...plan.train, ...plan.evals].filter((c) => !store.result(c.key)).length;
  if (missing)
    throw new InputError(
      `the run is incomplete: ${missing} of ${plan.train.length + plan.evals.length} cells missing (rerun the same command to finish it)`,
      dir,
    );
  const train = await trainingContext({
    base_model: spec.base_model,
    seed: spec.seed,
    method: spec.train.method,
    lora: spec.train.lora,
    hyper: spec.train.hyper,
    data: spec.data,
    stages: [
      { name: "x", mixture: { classification: [], prompt_contrast: false, contrast_exclude: [], source_weights: {} } },
    ],
  });
  return { spec, dir, store, plan, train };
}
