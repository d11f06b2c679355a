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
import { models as named } from "./models.js";

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
}

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

/**
 * trainSizes: each task's training split, where known. `examples_per_task` is a cap, not a demand: a task with fewer
 * training examples gives what it has (trainingNotes says so), while a count the spec names for one task (scaling's
 * in-domain and adjacent data, instruction's) must be there.
 */
export function planExperiment(
  spec: ExperimentSpec,
  baseFingerprint: string | null = null,
  trainSizes?: ReadonlyMap<string, number>,
  /** tasks evaluated on all their data and never trained on: transfer gives them no in-domain reference */
  evalOnly: ReadonlySet<string> = new Set(),
): Plan {
  const trains = new Map<string, TrainCell>();
  const evals = new Map<string, EvalCell>();
  const models: Record<string, string | null> = { untrained: null };
  const n = spec.train.examples_per_task;
  const cls = (tasks: string[], count = n) =>
    tasks.map((task) => ({ task, examples: Math.min(count, trainSizes?.get(task) ?? count) }));
  const stage = (name: string, mixture: Partial<Stage["mixture"]>): Stage => ({
    name,
    mixture: {
      classification: [],
      prompt_contrast: false,
      contrast_exclude: [],
      source_weights: {},
      ...mixture,
    } as Stage["mixture"],
  });
  const replicates: Record<string, string[]> = {};
  /** trains the recipe `count` times; returns the replicates' keys */
  const train = (label: string, stages: Stage[], count: number, labels?: { from: string; true: boolean }): string[] => {
    const keys = Array.from({ length: count }, (_, r) => {
      const seed = replicateSeed(spec.seed, r);
      const key = hashKey({
        stages,
        // (the form keys have always hashed: the cell's key, marked when its true labels are used)
        pseudoFrom: labels ? `${labels.from}${labels.true ? ":true-labels" : ""}` : null,
        base: spec.base_model,
        fp: baseFingerprint,
        train: spec.train,
        seed,
        // the first replicate's key is the key of a model trained once, so a run resumes across the change
        ...(r > 0 ? { replicate: r } : {}),
      });
      const name = replicateLabel(label, r);
      const from = labels && { pseudoFrom: labels.from, ...(labels.true ? { trueLabels: true } : {}) };
      if (!trains.has(key)) trains.set(key, { key, label: name, stages, ...from, replicate: r, seed });
      models[name] = key;
      return key;
    });
    // a model two questions share keeps the larger number of replicates either asks for
    if (!replicates[label] || replicates[label].length < keys.length) replicates[label] = keys;
    return keys;
  };
  const evaluate = (
    model: string | null,
    task: string,
    format: Format,
    split: EvalCell["split"] = "test",
    count?: number,
  ): string => {
    const examples =
      count ??
      (split === "validation"
        ? spec.eval.validation
        : format === "thinking"
          ? spec.eval.thinking.examples
          : format === "summary"
            ? spec.eval.summary.examples
            : spec.eval.examples);
    const key = hashKey({
      model,
      fp: baseFingerprint,
      task,
      format,
      split,
      examples,
      ev: format === "thinking" ? spec.eval.thinking : format === "summary" ? spec.eval.summary : null,
    });
    if (!evals.has(key)) evals.set(key, { key, model, task, format, split, examples });
    return key;
  };
  /** a model's single-token evaluation on a task (every replicate of it), with validation where the task has it */
  const single = (model: string[] | null, task: string) => {
    for (const m of model ?? [null]) {
      evaluate(m, task, "single", "test");
      // an evaluation-only task has no validation split (all of it is test)
      if (spec.eval.validation > 0 && !evalOnly.has(task)) evaluate(m, task, "single", "validation");
    }
  };
  const e = spec.experiments;

  if (e.transfer) {
    const n = e.transfer.replicates ?? spec.replicates;
    const all = Object.keys(e.transfer.sources);
    for (const t of e.transfer.eval_tasks) {
      single(null, t);
      if (!evalOnly.has(t))
        single(train(named.inDomain(t), [stage("classification", { classification: cls([t]) })], n), t);
    }
    const recipes: [string, string[]][] = all.map((s) => [s, e.transfer!.sources[s]]);
    if (e.transfer.leave_one_out && all.length > 2)
      for (const s of all)
        recipes.push([`all but ${s}`, all.filter((x) => x !== s).flatMap((x) => e.transfer!.sources[x])]);
    for (const [name, tasks] of recipes) {
      // every task of a recipe gets examples_per_task examples: "all but one" sees more data than one source
      const m = train(named.source(name), [stage("classification", { classification: cls(tasks) })], n);
      for (const t of e.transfer.eval_tasks) single(m, t);
    }
  }
  if (e.scaling) {
    const s = e.scaling;
    const reps = s.replicates ?? spec.replicates;
    single(null, s.target);
    for (const a of s.adjacent) {
      const parts = [
        { task: s.target, examples: s.in_domain },
        ...(a > 0 ? [{ task: s.adjacent_task, examples: a }] : []),
      ];
      single(train(named.scaling(a), [stage("classification", { classification: parts })], reps), s.target);
    }
  }
  if (e.prompt_change) {
    const p = e.prompt_change;
    const reps = p.replicates ?? spec.replicates;
    single(null, p.eval_task);
    single(null, p.train_task);
    const plain = train(named.promptTrained, [stage("classification", { classification: cls([p.train_task]) })], reps);
    single(plain, p.eval_task);
    single(plain, p.train_task);
    if (p.contrast_tasks.length) {
      const withContrast = train(
        named.promptContrast,
        [
          stage("classification", {
            classification: cls([p.train_task, ...p.contrast_tasks], Math.round(n / 2)),
            prompt_contrast: true,
            contrast_exclude: [p.eval_task],
          }),
        ],
        reps,
      );
      single(withContrast, p.eval_task);
      single(withContrast, p.train_task);
    }
  }
  if (e.instruction) {
    const i = e.instruction;
    const evalOn = [...i.eval_tasks, ...(e.prompt_change ? [e.prompt_change.eval_task] : [])];
    const base = [stage("classification", { classification: cls(i.source) })];
    const variants: [string, Stage[]][] = [
      [named.ifNone, base],
      [named.ifAfter, [...base, stage("instruction", { instruction: { examples: i.after_examples } })]],
      ...i.mixed.map((m): [string, Stage[]] => [
        named.ifMixed(m),
        [stage("mixed", { classification: cls(i.source), instruction: m })],
      ]),
      [named.ifOnly, [stage("instruction", { instruction: { examples: i.after_examples } })]],
    ];
    for (const t of evalOn) single(null, t);
    for (const [label, stages] of variants) {
      const m = train(label, stages, i.replicates ?? spec.replicates);
      for (const t of evalOn) single(m, t);
    }
  }
  if (e.format_transfer) {
    const f = e.format_transfer;
    const m = train(
      named.formatTrained,
      [stage("classification", { classification: cls(f.source) })],
      f.replicates ?? spec.replicates,
    );
    for (const t of f.eval_tasks) {
      for (const model of [null, m]) {
        single(model, t);
        for (const r of model ?? [null]) {
          evaluate(r, t, "thinking");
          evaluate(r, t, "summary");
        }
      }
    }
  }
  if (e.elicitation) {
    const el = e.elicitation;
    const reps = el.replicates ?? spec.replicates;
    single(null, el.target);
    // the texts pseudo-labelled: the target's training split, or another task's unlabelled pool
    const from = el.pool ?? el.target;
    const pseudo = evaluate(null, from, "thinking", el.pool ? "pool" : "train", el.examples);
    single(
      train(
        named.elicitPseudo,
        [stage("classification", { classification: [{ task: from, examples: el.examples }] })],
        reps,
        { from: pseudo, true: false },
      ),
      el.target,
    );
    // the supervised reference: the same texts with their true labels; a pool has none, so the target's own
    // training split, as many examples, stands in
    single(
      train(
        named.elicitSupervised,
        [stage("classification", { classification: [{ task: el.target, examples: el.examples }] })],
        reps,
        el.pool ? undefined : { from: pseudo, true: true },
      ),
      el.target,
    );
  }
  for (const c of trains.values())
    for (const st of c.stages)
      for (const part of st.mixture.classification)
        if (evalOnly.has(part.task))
          throw new InputError(
            `experiments: "${c.label}" would train on task "${part.task}", which is eval_only (evaluated on all its ` +
              "data, never trained on): use it only as a task a question evaluates",
          );
  return { train: [...trains.values()], evals: [...evals.values()], models, replicates };
}
