/**
 * The models the robustness questions (context length, evasion) compare: untrained, trained in-domain, trained on
 * named sources, and a source's recipe followed by instruction-following training. Each recipe has the label and
 * stages the transfer and instruction questions give it, so a run that asks both trains it once.
 */
import { z } from "zod";
import { models, UNTRAINED } from "../models.js";
import type { PlanBuilder } from "../plan.js";
import { TaskList } from "./schema.js";

export const RobustnessModels = z
  .object({
    untrained: z.boolean().default(true),
    in_domain: z.boolean().default(true),
    /** recipe name → the tasks it trains on */
    sources: z.record(z.string().min(1), TaskList).default({}),
    /** instruction-following examples trained after each source's recipe (a model "source:NAME then IF" each) */
    instruction_after: z.number().int().positive().optional(),
  })
  .strict();
export type RobustnessModels = z.infer<typeof RobustnessModels>;

/** A compared model: its label in the plan (null: the untrained base) and how the report names it. */
export interface Compared {
  label: string | null;
  name: string;
}

export const sourceThenIf = (name: string) => `${models.source(name)} then IF`;

/** Plans the models' trainings; returns them as compared (the same list comparedModels gives the analysis). */
export function planModels(b: PlanBuilder, m: RobustnessModels, task: string, replicates: number): Compared[] {
  const classification = (tasks: string[]) => [b.stage("classification", { classification: b.cls(tasks) })];
  if (m.in_domain) b.train(models.inDomain(task), classification([task]), replicates);
  for (const [name, tasks] of Object.entries(m.sources)) {
    b.train(models.source(name), classification(tasks), replicates);
    if (m.instruction_after) {
      const after = b.stage("instruction", { instruction: { examples: m.instruction_after } });
      b.train(sourceThenIf(name), [...classification(tasks), after], replicates);
    }
  }
  return comparedModels(m, task);
}

/** The compared models as the analysis finds them (the same list planModels made, without planning). */
export function comparedModels(m: RobustnessModels, task: string): Compared[] {
  return [
    ...(m.untrained ? [{ label: null, name: UNTRAINED }] : []),
    ...(m.in_domain ? [{ label: models.inDomain(task), name: "in-domain" }] : []),
    ...Object.keys(m.sources).flatMap((name) => [
      { label: models.source(name), name: models.source(name) },
      ...(m.instruction_after ? [{ label: sourceThenIf(name), name: sourceThenIf(name) }] : []),
    ]),
  ];
}
