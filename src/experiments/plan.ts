/**
 * The planner: an experiment spec becomes training cells (a recipe: stages of mixtures) and evaluation cells
 * (a model, a task, a format, a split). Cells are keyed by their content, so a model shared by several questions
 * (the untrained base, the in-domain references) is trained and scored once. The base model's content fingerprint
 * is part of every key: retraining the weights at the same path recomputes everything instead of reusing stale cells.
 */
import type { ExperimentSpec } from "./spec.js";
import type { TrainSpec } from "../train/spec.js";
import { InputError } from "../core/errors.js";
import { hashKey } from "../core/hash.js";
import { deriveSeed } from "../core/random.js";
import { QUESTIONS } from "./questions/index.js";

export type Stage = TrainSpec["stages"][number];

/** A line for each task whose training split is smaller than `examples_per_task` asks, with the count used. */
export function trainingNotes(spec: ExperimentSpec, plan: Plan, trainSizes: ReadonlyMap<string, number>): string[] {
  const n = spec.train.examples_per_task;
  const short = new Set<string>();
  for (const c of plan.train)
    for (const st of c.stages)
      for (const p of st.mixture.classification)
        if (p.examples < n && p.examples === trainSizes.get(p.task)) short.add(p.task);
  return [...short].map((t) => {
    const have = trainSizes.get(t);
    return `train: ${t} has ${have} training examples; using ${have} where examples_per_task asks for ${n}`;
  });
}

export type Format = "single" | "thinking" | "summary";

export interface TrainCell {
  key: string;
  /** the model's name in the plan; replicate r > 0 is "LABEL#r+1" */
  label: string;
  stages: Stage[];
  /** which training of this recipe (0-based) and its seed: replicate 0 trains with the spec's seed */
  replicate?: number;
  seed?: number;
  /** elicitation: the training texts' labels come from this evaluation cell (its thinking verdicts) */
  pseudoFrom?: string;
  /** elicitation's supervised reference: the same texts as pseudoFrom's, with their true labels */
  trueLabels?: boolean;
}

export interface EvalCell {
  key: string;
  /** null = the untrained base model */
  model: string | null;
  task: string;
  format: Format;
  /** pool: a task's unlabelled texts (elicitation's pseudo-labels only) */
  split: "test" | "validation" | "train" | "pool";
  examples: number;
  /** a prompt budget of its own (long inputs), in tokens, instead of the training's max_tokens */
  maxTokens?: number;
  /** past the budget: an error naming the example (the default where maxTokens is set), or the text's middle cut */
  truncation?: Truncation;
}

export type Truncation = "error" | "middle";

export interface Plan {
  train: TrainCell[];
  evals: EvalCell[];
  /** named models per question, for the analysis (a replicated model's label names its first replicate) */
  models: Record<string, string | null>;
  /** each trained model's replicates by its label, first to last (absent in plans made before replicates) */
  replicates?: Record<string, string[]>;
}

/** A plan as stored by an earlier version (elicitation's true labels marked inside the cell key): as today's. */
export function normalisePlan(plan: Plan): Plan {
  const legacy = ":true-labels";
  return {
    ...plan,
    train: plan.train.map((c) =>
      c.pseudoFrom?.endsWith(legacy)
        ? { ...c, pseudoFrom: c.pseudoFrom.slice(0, -legacy.length), trueLabels: true }
        : c,
    ),
  };
}

/** The seed of a recipe's replicate r: the spec's seed for the first, a named stream of it for the others. */
export function replicateSeed(seed: number, r: number): number {
  return r === 0 ? seed : deriveSeed(seed, `replicate.${r}`);
}

/** A replicate's label: the first keeps the model's label, so a run with one replicate names its models as before. */
export function replicateLabel(label: string, r: number): string {
  return r === 0 ? label : `${label}#${r + 1}`;
}

/** What a question's plan adds cells with: cells keyed by content, so a model two questions share is one cell. */
export class PlanBuilder {
  private readonly trains = new Map<string, TrainCell>();
  private readonly evals = new Map<string, EvalCell>();
  private readonly models: Record<string, string | null> = { untrained: null };
  private readonly replicates: Record<string, string[]> = {};

  constructor(
    readonly spec: ExperimentSpec,
    private readonly baseFingerprint: string | null,
    private readonly trainSizes: ReadonlyMap<string, number> | undefined,
    /** tasks evaluated on all their data and never trained on */
    readonly evalOnly: ReadonlySet<string>,
    /** the base model's context in tokens, where known (long-input questions check their lengths against it) */
    readonly modelContext?: number,
  ) {}

  /** The keys of a trained model's replicates, by its label (planned already). */
  keysFor(label: string): string[] {
    const keys = this.replicates[label];
    if (!keys) throw new Error(`no model "${label}" planned yet`);
    return keys;
  }

  /** The replicates a question trains: its own count, or the spec's. */
  replicatesOf(part: { replicates?: number }): number {
    return part.replicates ?? this.spec.replicates;
  }

  /** Classification parts: `count` examples of each task (examples_per_task by default), or what its split has. */
  cls(tasks: string[], count = this.spec.train.examples_per_task): Stage["mixture"]["classification"] {
    return tasks.map((task) => ({ task, examples: Math.min(count, this.trainSizes?.get(task) ?? count) }));
  }

  stage(name: string, mixture: Partial<Stage["mixture"]>): Stage {
    return {
      name,
      mixture: {
        classification: [],
        prompt_contrast: false,
        contrast_exclude: [],
        source_weights: {},
        ...mixture,
      } as Stage["mixture"],
    };
  }

  /** Trains the recipe `count` times; returns the replicates' keys. */
  train(label: string, stages: Stage[], count: number, labels?: { from: string; true: boolean }): string[] {
    const spec = this.spec;
    const keys = Array.from({ length: count }, (_, r) => {
      const seed = replicateSeed(spec.seed, r);
      const key = hashKey({
        stages,
        // (the form keys have always hashed: the cell's key, marked when its true labels are used)
        pseudoFrom: labels ? `${labels.from}${labels.true ? ":true-labels" : ""}` : null,
        base: spec.base_model,
        fp: this.baseFingerprint,
        train: spec.train,
        seed,
        // the first replicate's key is the key of a model trained once, so a run resumes across the change
        ...(r > 0 ? { replicate: r } : {}),
      });
      const name = replicateLabel(label, r);
      const from = labels && { pseudoFrom: labels.from, ...(labels.true ? { trueLabels: true } : {}) };
      if (!this.trains.has(key)) this.trains.set(key, { key, label: name, stages, ...from, replicate: r, seed });
      this.models[name] = key;
      return key;
    });
    // a model two questions share keeps the larger number of replicates either asks for
    if (!this.replicates[label] || this.replicates[label].length < keys.length) this.replicates[label] = keys;
    return keys;
  }

  /**
   * An evaluation of one model (null: untrained) on a task, in a format and split; returns its key. `budget`: a
   * prompt budget of its own (long inputs), with what happens past it.
   */
  evaluate(
    model: string | null,
    task: string,
    format: Format,
    split: EvalCell["split"] = "test",
    count?: number,
    budget?: { maxTokens: number; truncation: Truncation },
  ) {
    const ev = this.spec.eval;
    const examples =
      count ??
      (split === "validation"
        ? ev.validation
        : format === "thinking"
          ? ev.thinking.examples
          : format === "summary"
            ? ev.summary.examples
            : ev.examples);
    const key = hashKey({
      model,
      fp: this.baseFingerprint,
      task,
      format,
      split,
      examples,
      ev: format === "thinking" ? ev.thinking : format === "summary" ? ev.summary : null,
      // (only where set, so that every other cell keeps its key)
      ...(budget ? { budget } : {}),
    });
    if (!this.evals.has(key)) this.evals.set(key, { key, model, task, format, split, examples, ...budget });
    return key;
  }

  /** A model's single-token evaluation on a task (every replicate of it), with validation where the task has it. */
  single(model: string[] | null, task: string): void {
    for (const m of model ?? [null]) {
      this.evaluate(m, task, "single", "test");
      // an evaluation-only task has no validation split (all of it is test)
      if (this.spec.eval.validation > 0 && !this.evalOnly.has(task)) this.evaluate(m, task, "single", "validation");
    }
  }

  build(): Plan {
    for (const c of this.trains.values())
      for (const st of c.stages)
        for (const part of st.mixture.classification)
          if (this.evalOnly.has(part.task))
            throw new InputError(
              `experiments: "${c.label}" would train on task "${part.task}", which is eval_only (evaluated on all ` +
                "its data, never trained on): use it only as a task a question evaluates",
            );
    return {
      train: [...this.trains.values()],
      evals: [...this.evals.values()],
      models: this.models,
      replicates: this.replicates,
    };
  }
}

/**
 * trainSizes: each task's training split, where known. `examples_per_task` is a cap, not a demand: a task with fewer
 * training examples gives what it has (trainingNotes says so), while a count the spec names for one task (scaling's
 * in-domain and adjacent data, instruction's) must be there. Each question plans its own cells (src/experiments/
 * questions/), in the paper's order.
 */
export function planExperiment(
  spec: ExperimentSpec,
  baseFingerprint: string | null = null,
  trainSizes?: ReadonlyMap<string, number>,
  /** tasks evaluated on all their data and never trained on: transfer gives them no in-domain reference */
  evalOnly: ReadonlySet<string> = new Set(),
  modelContext?: number,
): Plan {
  const b = new PlanBuilder(spec, baseFingerprint, trainSizes, evalOnly, modelContext);
  for (const q of QUESTIONS) {
    const part = spec.experiments[q.id];
    // each module's part of the spec, as its own schema typed it
    if (part) (q.plan as (b: PlanBuilder, part: unknown, spec: ExperimentSpec) => void)(b, part, spec);
  }
  return b.build();
}
