/**
 * From the store to results: metrics with bootstrap CIs for every evaluation, and for each of the paper's six
 * questions the numbers that answer it. The sentences that say what they show are src/report/findings.ts's.
 */
import { instructionVariants, models, UNTRAINED } from "./models.js";
import {
  aurocCI,
  gapRecovered,
  metricSet,
  pairedAurocDiff,
  withCI,
  type Interval,
  type MetricSet,
} from "../eval/metrics.js";
import type { RunContext } from "./runner.js";
import type { EvalCell, Format } from "./plan.js";

export interface Preds {
  ids: string[];
  labels: number[];
  scores: number[];
  extra: (Record<string, unknown> | undefined)[];
}

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
      throw new Error(
        `no predictions for ${model ?? "the untrained model"} on ${task} (${format}, ${split}): is the run complete?`,
      );
    return p;
  }

  model(label: string): string | null {
    const m = this.run.plan.models[label];
    if (m === undefined) throw new Error(`no model "${label}" in the plan`);
    return m;
  }

  /** whether the plan trains a model of this label (an eval_only task has no in-domain model) */
  hasModel(label: string): boolean {
    return label in this.run.plan.models;
  }

  auroc(model: string | null, task: string, format: Format = "single"): Interval {
    const p = this.need(model, task, format);
    return aurocCI(p.labels, p.scores, this.boot);
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
    sources: { name: string; auroc: Interval; gap: Interval | null; diff_vs_untrained: Interval }[];
  }[];
  /** the sources trained on one recipe each (the others are "all but" one) */
  single_sources: string[];
}

export function analyseTransfer(a: Analysis): TransferResult | undefined {
  const t = a.spec.experiments.transfer;
  if (!t) return;
  const names = Object.keys(t.sources);
  const recipes = [...names, ...(t.leave_one_out && names.length > 2 ? names.map((n) => `all but ${n}`) : [])];
  const rows = t.eval_tasks.map((task) => {
    const u = a.need(null, task);
    // an eval_only task has no in-domain model in the plan
    const d = a.hasModel(models.inDomain(task)) ? a.need(a.model(models.inDomain(task)), task) : null;
    return {
      task,
      n: u.labels.length,
      untrained: aurocCI(u.labels, u.scores, a.boot),
      in_domain: d && aurocCI(d.labels, d.scores, a.boot),
      gap: d && pairedAurocDiff(u.labels, u.scores, d.scores, a.boot),
      sources: recipes.map((name) => {
        const s = a.need(a.model(models.source(name)), task);
        return {
          name,
          auroc: aurocCI(s.labels, s.scores, a.boot),
          gap: d && gapRecovered(u.labels, u.scores, d.scores, s.scores, a.boot),
          diff_vs_untrained: pairedAurocDiff(u.labels, u.scores, s.scores, a.boot),
        };
      }),
    };
  });
  return { eval_tasks: rows, single_sources: names };
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
  const u = a.need(null, s.target);
  const pts = s.adjacent.map((n) => ({ adjacent: n, preds: a.need(a.model(models.scaling(n)), s.target) }));
  const first = pts[0],
    last = pts[pts.length - 1];
  const gain = pairedAurocDiff(first.preds.labels, first.preds.scores, last.preds.scores, a.boot);
  const points = pts.map((p) => ({ adjacent: p.adjacent, auroc: aurocCI(p.preds.labels, p.preds.scores, a.boot) }));
  return {
    target: s.target,
    adjacent_task: s.adjacent_task,
    in_domain: s.in_domain,
    untrained: aurocCI(u.labels, u.scores, a.boot),
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
  const p = a.need(model, evalTask);
  const trained = a.run.train.splits.find((s) => s.task.id === trainTask);
  if (!trained) throw new Error(`no task "${trainTask}" among the run's tasks`);
  const old = new Map(trained.task.examples.map((e) => [e.id, e.label ? 1 : 0]));
  const oldLabels = p.ids.map((id) => old.get(id) ?? NaN);
  const agree = (labels: number[]) => (idx: Int32Array | null) => {
    const ix = idx ? Array.from(idx) : p.scores.map((_, i) => i);
    const ok = ix.filter((i) => Number.isFinite(labels[i]) && (p.scores[i] >= 0.5 ? 1 : 0) === labels[i]).length;
    return ok / ix.filter((i) => Number.isFinite(labels[i])).length;
  };
  return {
    follows_new: withCI(p.labels, agree(p.labels), { ...a.boot, bothClasses: false }),
    follows_trained: withCI(p.labels, agree(oldLabels), { ...a.boot, bothClasses: false }),
  };
}

export function analysePromptChange(
  a: Analysis,
): { eval_task: string; train_task: string; rows: PromptRow[] } | undefined {
  const pc = a.spec.experiments.prompt_change;
  if (!pc) return;
  const compared: [string, string | null][] = [
    ["untrained", null],
    ["trained", a.model(models.promptTrained)],
    ...(pc.contrast_tasks.length
      ? [["trained + contrast pairs", a.model(models.promptContrast)] as [string, string | null]]
      : []),
  ];
  const rows = compared.map(([name, m]) => ({
    model: name,
    auroc_new_prompt: a.auroc(m, pc.eval_task),
    auroc_trained_prompt: a.auroc(m, pc.train_task),
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
    auroc: Object.fromEntries(tasks.map((t) => [t, a.auroc(v === UNTRAINED ? null : a.model(v), t)])),
  }));
  // what adding IF after classification training changes, paired over the same examples
  const after_vs_none = Object.fromEntries(
    tasks.map((t) => {
      const pn = a.need(a.model(models.ifNone), t);
      const pa = a.need(a.model(models.ifAfter), t);
      return [t, pairedAurocDiff(pn.labels, pn.scores, pa.scores, a.boot)];
    }),
  );
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
        ["1-token trained", a.model(models.formatTrained)],
      ] as [string, string | null][]
    ).map(([name, m]) => {
      const th = a.need(m, t, "thinking");
      const sm = a.need(m, t, "summary");
      const pos = sm.scores.map((s, i) => ({ s, i })).filter((x) => x.s >= 0);
      const keepLabels = pos.map((x) => (x.s === 1 ? 1 : 0));
      const recall = pos.length
        ? withCI(
            keepLabels.map(() => 1),
            (idx) => {
              const ix = idx ? Array.from(idx) : keepLabels.map((_, j) => j);
              return ix.reduce((s, j) => s + keepLabels[j], 0) / ix.length;
            },
            { ...a.boot, bothClasses: false },
          )
        : null;
      const unparseable = (th.extra as { verdicts: (boolean | null)[] }[]).reduce(
        (s, e) => s + e.verdicts.filter((v) => v === null).length,
        0,
      );
      return {
        task: t,
        model: name,
        single: a.auroc(m, t),
        thinking: aurocCI(th.labels, th.scores, a.boot),
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
  const u = a.auroc(null, el.target),
    p = a.auroc(a.model(models.elicitPseudo), el.target),
    s = a.auroc(a.model(models.elicitSupervised), el.target);
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
    const msg = (e as Error).message;
    if (!msg.startsWith("no predictions for")) throw e;
    incomplete.push(`${name}: ${msg.replace(/: is the run complete\?$/, "")}`);
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
    cells: run.store.cells(),
    /** cells that failed on a worker (a PostgreSQL run), and the questions left out for want of them */
    failed_cells: run.store.getMeta<string[]>("failed_cells") ?? [],
    incomplete,
  };
}
export type Analysed = ReturnType<typeof analyse>;
