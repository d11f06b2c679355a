/**
 * A backend whose models have known AUROCs, for checking that the study's intervals cover the truth (the
 * planted-truth check, `npm run bench -- coverage`). It runs the real path: the planner's cells, the evaluation's
 * rendered prompts and answer tokens, the store, the analysis. Nothing is learned: a model is its recipe (the tasks
 * it was trained on) and its seed, and its scores are drawn per example from a binormal model with that AUROC,
 *   score = μ·label + √ρ·z(example) + √(1 − ρ)·ε(model, example),   μ = √2·Φ⁻¹(AUROC),
 * so every class has unit variance and the population AUROC is exactly the planted one. z is shared by every model
 * scoring the example (paired differences are correlated, as real monitors' are); ε is each model's own. A trained
 * model's AUROC is the truth plus its seed's draw of N(0, seedSd²): training randomness with a known size. Every draw
 * is keyed by the study, so each simulated study is a fresh test sample and fresh training noise.
 */
import { deriveSeed, Rng } from "../core/random.js";
import { normalQuantile } from "../eval/distributions.js";
import type { TrainContext } from "../train/run.js";
import type { TrainSpec } from "../train/spec.js";
import type { Backend, Generated, ModelRef, ScorePrompt } from "./types.js";
import { UnsupportedStep } from "./types.js";

export interface PlantedTruth {
  /** each task's untrained AUROC */
  untrained: Record<string, number>;
  /** the AUROC that training on task `from` adds on task `to` (in-domain: from = to) */
  effect(from: string, to: string): number;
  /** the SD of a trained model's AUROC across training seeds */
  seedSd: number;
  /** the share of an example's score variance that every model shares (ρ) */
  shared: number;
}

const LOWEST = 0.5,
  HIGHEST = 0.995;
const clamp = (x: number) => Math.min(HIGHEST, Math.max(LOWEST, x));

/** The AUROC (expected over training seeds) of a model trained on these tasks, on a task. */
export function plantedAuroc(truth: PlantedTruth, trainedOn: string[], task: string): number {
  const base = truth.untrained[task];
  if (base === undefined) throw new Error(`planted truth: no untrained AUROC for task "${task}"`);
  return clamp(base + trainedOn.reduce((s, from) => s + truth.effect(from, task), 0));
}

interface PlantedModel {
  tasks: string[];
  seed: number;
}

const PREFIX = "planted:";

/** Which example a rendered prompt is: built once from a run's tasks, shared by every simulated study of them. */
export class PlantedExamples {
  private readonly byPrompt = new Map<string, { task: string; id: string; label: boolean }>();
  constructor(ctx: TrainContext) {
    for (const s of ctx.splits)
      for (const e of [...s.test, ...s.validation])
        this.byPrompt.set(ctx.renderer.singleToken(s.task, e).promptIds.join(","), {
          task: s.task.id,
          id: e.id,
          label: e.label,
        });
  }
  of(prompt: ScorePrompt): { task: string; id: string; label: boolean } {
    const ex = this.byPrompt.get(prompt.ids.join(","));
    if (!ex) throw new Error("planted backend: a prompt that renders none of the run's test or validation examples");
    return ex;
  }
}

export class PlantedBackend implements Backend {
  readonly name = "planted";
  readonly capabilities = { score: true, generate: false, train: true };

  /** study: which simulated study (every draw is keyed by it) */
  constructor(
    readonly truth: PlantedTruth,
    readonly examples: PlantedExamples,
    readonly study: number,
  ) {}

  async train(spec: TrainSpec): Promise<ModelRef> {
    const tasks = spec.stages.flatMap((st) => st.mixture.classification.map((c) => c.task)).sort();
    const model: PlantedModel = { tasks: [...new Set(tasks)], seed: spec.seed };
    return { base: spec.base_model, adapter: `${PREFIX}${JSON.stringify(model)}` };
  }

  async score(ref: ModelRef, prompts: ScorePrompt[]): Promise<number[][]> {
    const model: PlantedModel = ref.adapter ? JSON.parse(ref.adapter.slice(PREFIX.length)) : { tasks: [], seed: 0 };
    const name = ref.adapter ?? "untrained";
    return prompts.map((p) => {
      const ex = this.examples.of(p);
      const truth = plantedAuroc(this.truth, model.tasks, ex.task);
      // the seed's draw moves this model's AUROC on this task; the untrained model has no training to vary
      const seedNoise = model.tasks.length
        ? this.truth.seedSd * new Rng(deriveSeed(this.study, `seed:${name}:${ex.task}`)).normal()
        : 0;
      const mu = Math.SQRT2 * normalQuantile(clamp(truth + seedNoise));
      const z = new Rng(deriveSeed(this.study, `example:${ex.task}:${ex.id}`)).normal();
      const eps = new Rng(deriveSeed(this.study, `own:${name}:${ex.task}:${ex.id}`)).normal();
      const s = (ex.label ? mu : 0) + Math.sqrt(this.truth.shared) * z + Math.sqrt(1 - this.truth.shared) * eps;
      // log σ(s) and log σ(−s): P(positive) = σ(s), a monotone map of the score (AUROC unchanged)
      return [-Math.log1p(Math.exp(-s)), -Math.log1p(Math.exp(s))];
    });
  }

  async generate(): Promise<Generated[]> {
    throw new UnsupportedStep(this.name, "generate text (the planted-truth backend only scores)");
  }
}
