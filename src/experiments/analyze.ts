/**
 * From the store to results: metrics with bootstrap CIs for every evaluation, and for each of the paper's six
 * questions the numbers that answer it. The sentences that say what they show are src/report/findings.ts's.
 */
import { instructionVariants, models, UNTRAINED } from "./models.js";
import { metricSet, type Interval, type MetricSet } from "../eval/metrics.js";
import { aurocOver, diffOver, gapOver, measureOver, proportionOver } from "../eval/replicated.js";
import type { RunContext } from "./runner.js";
import type { EvalCell, Format } from "./plan.js";

export interface Preds {
  ids: string[];
  labels: number[];
  scores: number[];
  extra: (Record<string, unknown> | undefined)[];
}

/** An evaluation the analysis needs has no predictions (a cell failed on a worker, or the run is not finished). */
export class MissingPredictions extends Error {}

export class Analysis {
  constructor(readonly run: RunContext) {}
  get spec() {
    return this.run.spec;
  }
  get boot() {
    return { n: this.spec.eval.bootstrap, seed: this.spec.seed };
  }

  cell(model: string | null, task: string, format: Format, split: EvalCell["split"] = "test"): EvalCell | undefined {
    return this.run.plan.evals.find(
      (e) => e.model === model && e.task === task && e.format === format && e.split === split,
    );
  }

  preds(
    model: string | null,
    task: string,
    format: Format = "single",
    split: EvalCell["split"] = "test",
  ): Preds | null {
    const c = this.cell(model, task, format, split);
    if (!c) return null;
    const rows = this.run.store.predictions(c.key);
    if (!rows.length) return null;
    return {
      ids: rows.map((r) => r.example),
      labels: rows.map((r) => r.label),
      scores: rows.map((r) => r.score),
      extra: rows.map((r) => r.extra),
    };
  }

  /** The predictions of an evaluation the analysis cannot do without: an error naming the cell when it has none. */
  need(model: string | null, task: string, format: Format = "single", split: EvalCell["split"] = "test"): Preds {
    const p = this.preds(model, task, format, split);
    if (!p)
      throw new MissingPredictions(
        `no predictions for ${model ?? "the untrained model"} on ${task} (${format}, ${split}): is the run complete?`,
      );
    return p;
  }

  model(label: string): string | null {
    const m = this.run.plan.models[label];
    if (m === undefined) throw new Error(`no model "${label}" in the plan`);
    return m;
  }

  /** A model's replicates' keys by its label (null: the untrained base, scored once). */
  keysOf(label: string | null): (string | null)[] {
    if (label === null) return [null];
    return this.run.plan.replicates?.[label] ?? [this.model(label)];
  }

  /** The predictions of every replicate of a model (by label; null: untrained), on the same examples. */
  reps(label: string | null, task: string, format: Format = "single"): Preds & { reps: number[][] } {
    const all = this.keysOf(label).map((k) => this.need(k, task, format));
    const first = all[0];
    for (const p of all)
      if (p.ids.length !== first.ids.length || p.ids.some((id, i) => id !== first.ids[i]))
        throw new Error(`the replicates of ${label} were scored on different ${task} examples`);
    return { ...first, reps: all.map((p) => p.scores) };
  }

  /** A model's AUROC on a task over its replicates (label null: the untrained base). */
  aurocOf(label: string | null, task: string, format: Format = "single"): Interval {
    const p = this.reps(label, task, format);
    return aurocOver(p.labels, p.reps, this.boot);
  }

  /** AUROC(b) − AUROC(a) on a task, paired over examples and replicates. */
  diff(a: string | null, b: string | null, task: string): Interval {
    const pa = this.reps(a, task),
      pb = this.reps(b, task);
    return diffOver(pa.labels, pa.reps, pb.reps, this.boot);
  }

  /** whether the plan trains a model of this label (an eval_only task has no in-domain model) */
  hasModel(label: string): boolean {
    return label in this.run.plan.models;
  }

  metrics(model: string | null, task: string): MetricSet {
    const p = this.need(model, task);
    const v = this.preds(model, task, "single", "validation");
    return metricSet(p.labels, p.scores, v ? { labels: v.labels, probs: v.scores } : undefined, this.boot);
  }
}

export interface TransferResult {
  /** per held-out task; gap: in-domain − untrained AUROC (paired), the denominator of every gap recovered */
  eval_tasks: {
    task: string;
    /** test examples every model here was scored on */
    n: number;
    untrained: Interval;
    /** null for an eval_only task: no in-domain reference, so no gap and nothing of it recovered */
    in_domain: Interval | null;
    gap: Interval | null;
    sources: {
      name: string;
      auroc: Interval;
      /** null without an in-domain model, or where the gap is too small to give a share of (gap_withheld) */
      gap: Interval | null;
      gap_withheld: boolean;
      diff_vs_untrained: Interval;
    }[];
    /** the highest single source's AUROC minus the next one's, paired (null with fewer than two sources) */
    lead: { top: string; over: string; diff: Interval } | null;
  }[];
  /** the sources trained on one recipe each (the others are "all but" one) */
  single_sources: string[];
}

/**
 * Gap recovered is given only over a gap its interval puts clearly away from zero, at least four standard errors
 * (GAP_MIN_Z): a ratio over a denominator near zero has no useful interval (the planted-truth check measures the
 * coverage of those given).
 */
export const GAP_MIN_Z = 4;
export function gapIsGiven(gap: Interval): boolean {
  const se = gap.se ?? (gap.hi - gap.lo) / (2 * 1.96);
  return gap.value > 0 && se > 0 && gap.value / se >= GAP_MIN_Z;
}

export function analyseTransfer(a: Analysis): TransferResult | undefined {
  const t = a.spec.experiments.transfer;
  if (!t) return;
  const names = Object.keys(t.sources);
  const recipes = [...names, ...(t.leave_one_out && names.length > 2 ? names.map((n) => `all but ${n}`) : [])];
  // a source trained on a task of the target's own domain is not held out from it: its row leaves it out
  const domainOf = (task: string) => a.run.train?.splits.find((s) => s.task.id === task)?.task.domain;
  const heldOut = (recipe: string, task: string) => {
    const own = domainOf(task);
    const tasks = recipe.startsWith("all but ")
      ? names.filter((n) => `all but ${n}` !== recipe).flatMap((n) => t.sources[n])
      : t.sources[recipe];
    return own === undefined || !tasks.some((x) => domainOf(x) === own);
  };
  const rows = t.eval_tasks.map((task) => {
    const u = a.reps(null, task);
    // an eval_only task has no in-domain model in the plan
    const dLabel = a.hasModel(models.inDomain(task)) ? models.inDomain(task) : null;
    const d = dLabel ? a.reps(dLabel, task) : null;
    const gap = d && diffOver(u.labels, u.reps, d.reps, a.boot);
    return {
      task,
      n: u.labels.length,
      untrained: aurocOver(u.labels, u.reps, a.boot),
      in_domain: d && aurocOver(d.labels, d.reps, a.boot),
      gap,
      sources: recipes
        .filter((name) => heldOut(name, task))
        .map((name) => {
          const s = a.reps(models.source(name), task);
          const recovered = d && gapOver(u.labels, u.reps, d.reps, s.reps, a.boot);
          return {
            name,
            auroc: aurocOver(s.labels, s.reps, a.boot),
            // a share of a gap its interval cannot tell from zero is not worth giving (see GAP_RULE)
            gap: recovered && gap && gapIsGiven(gap) ? recovered : null,
            gap_withheld: Boolean(recovered && gap && !gapIsGiven(gap)),
            diff_vs_untrained: diffOver(u.labels, u.reps, s.reps, a.boot),
          };
        }),
    };
  });
  // the highest single source against the next, paired: naming a "best" source needs its own test
  const withLead = rows.map((r) => {
    const ranked = r.sources
      .filter((s) => names.includes(s.name))
      .sort((x, y) => (y.gap?.value ?? y.diff_vs_untrained.value) - (x.gap?.value ?? x.diff_vs_untrained.value));
    const lead =
      ranked.length > 1
        ? {
            top: ranked[0].name,
            over: ranked[1].name,
            diff: a.diff(models.source(ranked[1].name), models.source(ranked[0].name), r.task),
          }
        : null;
    return { ...r, lead };
  });
  return { eval_tasks: withLead, single_sources: names };
}

export interface ScalingResult {
  target: string;
  adjacent_task: string;
  in_domain: number;
  untrained: Interval;
  points: { adjacent: number; auroc: Interval }[];
  gain: Interval;
}

export function analyseScaling(a: Analysis): ScalingResult | undefined {
  const s = a.spec.experiments.scaling;
  if (!s) return;
  const first = models.scaling(s.adjacent[0]),
    last = models.scaling(s.adjacent[s.adjacent.length - 1]);
  const gain = a.diff(first, last, s.target);
  const points = s.adjacent.map((n) => ({ adjacent: n, auroc: a.aurocOf(models.scaling(n), s.target) }));
  return {
    target: s.target,
    adjacent_task: s.adjacent_task,
    in_domain: s.in_domain,
    untrained: a.aurocOf(null, s.target),
    points,
    gain,
  };
}

export interface PromptRow {
  model: string;
  auroc_new_prompt: Interval;
  auroc_trained_prompt: Interval;
  follows_new: Interval;
  follows_trained: Interval;
}

/** How often predictions (P ≥ 0.5) agree with the new prompt's labels and with the trained prompt's labels. */
function following(
  a: Analysis,
  model: string | null,
  evalTask: string,
  trainTask: string,
): { follows_new: Interval; follows_trained: Interval } {
  const p = a.reps(model, evalTask);
  const trained = a.run.train.splits.find((s) => s.task.id === trainTask);
  if (!trained) throw new Error(`no task "${trainTask}" among the run's tasks`);
  const old = new Map(trained.task.examples.map((e) => [e.id, e.label ? 1 : 0]));
  const oldLabels = p.ids.map((id) => old.get(id) ?? NaN);
  const agree =
    (labels: number[]) =>
    (scores: ArrayLike<number>, idx: Int32Array | null): number => {
      const ix = idx ? Array.from(idx) : p.labels.map((_, i) => i);
      const known = ix.filter((i) => Number.isFinite(labels[i]));
      return known.filter((i) => (scores[i] >= 0.5 ? 1 : 0) === labels[i]).length / known.length;
    };
  const boot = { ...a.boot, bothClasses: false };
  return {
    follows_new: measureOver(p.labels, p.reps, boot, agree(p.labels), [0, 1]),
    follows_trained: measureOver(p.labels, p.reps, boot, agree(oldLabels), [0, 1]),
  };
}

export function analysePromptChange(
  a: Analysis,
): { eval_task: string; train_task: string; rows: PromptRow[] } | undefined {
  const pc = a.spec.experiments.prompt_change;
  if (!pc) return;
  const compared: [string, string | null][] = [
    ["untrained", null],
    ["trained", models.promptTrained],
    ...(pc.contrast_tasks.length ? [["trained + contrast pairs", models.promptContrast] as [string, string]] : []),
  ];
  const rows = compared.map(([name, m]) => ({
    model: name,
    auroc_new_prompt: a.aurocOf(m, pc.eval_task),
    auroc_trained_prompt: a.aurocOf(m, pc.train_task),
    ...following(a, m, pc.eval_task, pc.train_task),
  }));
  return { eval_task: pc.eval_task, train_task: pc.train_task, rows };
}

export function analyseInstruction(a: Analysis):
  | {
      /** variant: as shown; label: the model's label in the plan (what a chart row's evaluation is found by) */
      rows: { variant: string; label: string; auroc: Record<string, Interval> }[];
      tasks: string[];
      after_vs_none: Record<string, Interval>;
    }
  | undefined {
  const i = a.spec.experiments.instruction;
  if (!i) return;
  const tasks = [
    ...i.eval_tasks,
    ...(a.spec.experiments.prompt_change ? [a.spec.experiments.prompt_change.eval_task] : []),
  ];
  const variants = instructionVariants(i.mixed);
  const rows = variants.map((v) => ({
    variant: v.replace(/^if:/, ""),
    label: v,
    auroc: Object.fromEntries(tasks.map((t) => [t, a.aurocOf(v === UNTRAINED ? null : v, t)])),
  }));
  // what adding IF after classification training changes, paired over the same examples
  const after_vs_none = Object.fromEntries(tasks.map((t) => [t, a.diff(models.ifNone, models.ifAfter, t)]));
  return { rows, tasks, after_vs_none };
}

export function analyseFormats(a: Analysis):
  | {
      rows: {
        task: string;
        model: string;
        single: Interval;
        thinking: Interval;
        unparseable: number;
        summary_recall: Interval | null;
      }[];
      tasks: string[];
    }
  | undefined {
  const f = a.spec.experiments.format_transfer;
  if (!f) return;
  const rows = f.eval_tasks.flatMap((t) =>
    (
      [
        ["untrained", null],
        ["1-token trained", models.formatTrained],
      ] as [string, string | null][]
    ).map(([name, m]) => {
      const th = a.reps(m, t, "thinking");
      // a summary judged keeps the evidence (1) or not (0); -1: the positive was not judged
      const sm = a.keysOf(m).map((k) => a.need(k, t, "summary"));
      const judged = sm[0].scores.map((_, i) => i).filter((i) => sm.every((p) => p.scores[i] >= 0));
      const recall = judged.length
        ? proportionOver(
            sm.map((p) => judged.filter((i) => p.scores[i] === 1).length),
            judged.length,
          )
        : null;
      const unparseable = a
        .keysOf(m)
        .map((k) => a.need(k, t, "thinking").extra as { verdicts: (boolean | null)[] }[])
        .reduce((s, ex) => s + ex.reduce((x, e) => x + e.verdicts.filter((v) => v === null).length, 0), 0);
      return {
        task: t,
        model: name,
        single: a.aurocOf(m, t),
        thinking: aurocOver(th.labels, th.reps, a.boot),
        unparseable,
        summary_recall: recall,
      };
    }),
  );
  return { tasks: f.eval_tasks, rows };
}

export function analyseElicitation(a: Analysis):
  | {
      target: string;
      untrained: Interval;
      pseudo: Interval;
      supervised: Interval;
      /** null when the pseudo-labelled texts are an unlabelled pool */
      pseudo_label_accuracy: number | null;
      examples: number;
      /** the task whose unlabelled texts were pseudo-labelled, or null for the target's own training texts */
      pool: string | null;
    }
  | undefined {
  const el = a.spec.experiments.elicitation;
  if (!el) return;
  const u = a.aurocOf(null, el.target),
    p = a.aurocOf(models.elicitPseudo, el.target),
    s = a.aurocOf(models.elicitSupervised, el.target);
  const pseudo = a.need(null, el.pool ?? el.target, "thinking", el.pool ? "pool" : "train");
  const acc = el.pool
    ? null
    : pseudo.scores.filter((x, i) => (x >= 0.5 ? 1 : 0) === pseudo.labels[i]).length / pseudo.scores.length;
  return {
    target: el.target,
    untrained: u,
    pseudo: p,
    supervised: s,
    pseudo_label_accuracy: acc,
    examples: el.examples,
    pool: el.pool ?? null,
  };
}

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
    transfer: partOf("transfer", incomplete, () => analyseTransfer(a)),
    scaling: partOf("scaling", incomplete, () => analyseScaling(a)),
    prompt_change: partOf("prompt change", incomplete, () => analysePromptChange(a)),
    instruction: partOf("instruction", incomplete, () => analyseInstruction(a)),
    format_transfer: partOf("format transfer", incomplete, () => analyseFormats(a)),
    elicitation: partOf("elicitation", incomplete, () => analyseElicitation(a)),
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
