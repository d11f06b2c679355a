/**
 * What every question's analysis reads a run through: its predictions by model label and task, each model's
 * replicates together, and the figures over them (src/eval/replicated.ts).
 */
import { metricSet, type Interval, type MetricSet } from "../eval/metrics.js";
import { aurocOver, diffOver } from "../eval/replicated.js";
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
