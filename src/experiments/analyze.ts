/**
 * From the store to results: metrics with bootstrap CIs for every evaluation, and for each of the paper's six
 * questions a table and one sentence saying what this run shows, with its numbers and intervals, whatever they are.
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

// "+ 0" turns a rounded −0 into 0, so a tiny negative prints as 0.00 and 0%, not -0.00 and -0%
const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(100 * x) + 0}%` : "n/a");
const f2 = (x: number) => (Number.isFinite(x) ? (Number(x.toFixed(2)) + 0).toFixed(2) : "n/a");
export const fmtCI = (i: Interval, asPct = false) =>
  asPct ? `${pct(i.value)} [${pct(i.lo)}, ${pct(i.hi)}]` : `${f2(i.value)} [${f2(i.lo)}, ${f2(i.hi)}]`;

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
    untrained: Interval;
    in_domain: Interval;
    gap: Interval;
    sources: { name: string; auroc: Interval; gap: Interval; diff_vs_untrained: Interval }[];
  }[];
  finding: string;
}

export function analyseTransfer(a: Analysis): TransferResult | undefined {
  const t = a.spec.experiments.transfer;
  if (!t) return;
  const names = Object.keys(t.sources);
  const recipes = [...names, ...(t.leave_one_out && names.length > 2 ? names.map((n) => `all but ${n}`) : [])];
  const rows = t.eval_tasks.map((task) => {
    const u = a.need(null, task),
      d = a.need(a.model(models.inDomain(task)), task);
    return {
      task,
      untrained: aurocCI(u.labels, u.scores, a.boot),
      in_domain: aurocCI(d.labels, d.scores, a.boot),
      gap: pairedAurocDiff(u.labels, u.scores, d.scores, a.boot),
      sources: recipes.map((name) => {
        const s = a.need(a.model(models.source(name)), task);
        return {
          name,
          auroc: aurocCI(s.labels, s.scores, a.boot),
          gap: gapRecovered(u.labels, u.scores, d.scores, s.scores, a.boot),
          diff_vs_untrained: pairedAurocDiff(u.labels, u.scores, s.scores, a.boot),
        };
      }),
    };
  });
  const sentences = rows.map((r) => {
    const singles = r.sources
      .filter((s) => names.includes(s.name))
      .sort((x, y) => (y.gap.value || -9) - (x.gap.value || -9));
    // a share of a gap that is not clearly there is noise over noise: say so, and give the sources' changes instead
    if (!(r.gap.lo > 0)) {
      const byDiff = [...singles].sort((x, y) => y.diff_vs_untrained.value - x.diff_vs_untrained.value);
      const changes = byDiff.map((s) => `${s.name} changes AUROC by ${fmtCI(s.diff_vs_untrained)}`).join(", ");
      return (
        `On ${r.task}, in-domain training does not clearly beat the untrained model (AUROC ${fmtCI(r.in_domain)} ` +
        `against ${fmtCI(r.untrained)}: a difference of ${fmtCI(r.gap)}), so there is no measurable gap to recover; ` +
        `against the untrained model, training on ${changes}.`
      );
    }
    const [best, ...others] = singles;
    const rest = others.map((s) => `${s.name} ${fmtCI(s.gap, true)}`).join(", ");
    return (
      `On ${r.task}, the untrained model scores AUROC ${fmtCI(r.untrained)} and in-domain training ` +
      `${fmtCI(r.in_domain)}; training on ${best.name} alone recovers ${fmtCI(best.gap, true)} of that gap ` +
      `(AUROC ${fmtCI(best.auroc)})${rest ? `, against ${rest} for the other sources` : ""}.`
    );
  });
  return { eval_tasks: rows, finding: sentences.join(" ") };
}

export interface ScalingResult {
  target: string;
  adjacent_task: string;
  in_domain: number;
  untrained: Interval;
  points: { adjacent: number; auroc: Interval }[];
  gain: Interval;
  finding: string;
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
  const finding =
    `With ${s.in_domain} in-domain ${s.target} examples, adding ${s.adjacent_task} examples moves ` +
    `AUROC from ${fmtCI(points[0].auroc)} (${first.adjacent} added) to ${fmtCI(points[points.length - 1].auroc)} ` +
    `(${last.adjacent} added): a paired difference of ` +
    `${fmtCI(gain)}` +
    (gain.lo > 0
      ? ", so the adjacent data helps here."
      : gain.hi < 0
        ? ", so the adjacent data hurts here."
        : ", an interval that includes zero.");
  return {
    target: s.target,
    adjacent_task: s.adjacent_task,
    in_domain: s.in_domain,
    untrained: aurocCI(u.labels, u.scores, a.boot),
    points,
    gain,
    finding,
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
): { eval_task: string; train_task: string; rows: PromptRow[]; finding: string } | undefined {
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
  const tr = rows[1];
  const c = rows[2];
  const finding =
    `Asked the new question (${pc.eval_task}) about texts of the trained domain, the model trained on ` +
    `${pc.train_task} scores AUROC ${fmtCI(tr.auroc_new_prompt)} against ${fmtCI(rows[0].auroc_new_prompt)} ` +
    `untrained; its answers agree with the new question's labels ${fmtCI(tr.follows_new, true)} of the time and ` +
    `with the trained question's labels ${fmtCI(tr.follows_trained, true)}` +
    (c
      ? `. With prompt-contrast pairs from other domains, AUROC on the new question is ` +
        `${fmtCI(c.auroc_new_prompt)} (agreement with the new labels ${fmtCI(c.follows_new, true)}, with the ` +
        `trained labels ${fmtCI(c.follows_trained, true)}).`
      : ".");
  return { eval_task: pc.eval_task, train_task: pc.train_task, rows, finding };
}

export function analyseInstruction(
  a: Analysis,
): { rows: { variant: string; auroc: Record<string, Interval> }[]; tasks: string[]; finding: string } | undefined {
  const i = a.spec.experiments.instruction;
  if (!i) return;
  const tasks = [
    ...i.eval_tasks,
    ...(a.spec.experiments.prompt_change ? [a.spec.experiments.prompt_change.eval_task] : []),
  ];
  const variants = instructionVariants(i.mixed);
  const rows = variants.map((v) => ({
    variant: v.replace(/^if:/, ""),
    auroc: Object.fromEntries(tasks.map((t) => [t, a.auroc(v === UNTRAINED ? null : a.model(v), t)])),
  }));
  const none = rows.find((r) => r.variant === "none");
  const after = rows.find((r) => r.variant === "after");
  if (!none || !after) throw new Error("the instruction analysis needs the if:none and if:after variants");
  const parts = tasks.map((t) => {
    const pn = a.need(a.model(models.ifNone), t),
      pa = a.need(a.model(models.ifAfter), t);
    return (
      `${t}: ${fmtCI(none.auroc[t])} without IF, ${fmtCI(after.auroc[t])} with IF after (difference ` +
      `${fmtCI(pairedAurocDiff(pn.labels, pn.scores, pa.scores, a.boot))})`
    );
  });
  const mixed = rows
    .filter((r) => r.variant.startsWith("mixed"))
    .map((r) => `${r.variant}: ${tasks.map((t) => f2(r.auroc[t].value)).join(" / ")}`)
    .join("; ");
  return {
    rows,
    tasks,
    finding:
      `Classification training, then IF training, gives ${parts.join("; ")}. Mixed instead (AUROC on ` +
      `${tasks.join(" / ")}): ${mixed}.`,
  };
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
      finding: string;
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
  const finding = f.eval_tasks
    .map((t) => {
      const [u, tr] = rows.filter((r) => r.task === t);
      return (
        `On ${t}, thinking classification goes from AUROC ${fmtCI(u.thinking)} untrained to ` +
        `${fmtCI(tr.thinking)} after 1-token training (${u.unparseable} and ${tr.unparseable} traces without a ` +
        `verdict line), and summaries keep the incriminating evidence in ` +
        `${u.summary_recall ? fmtCI(u.summary_recall, true) : "n/a"} of positives untrained against ` +
        `${tr.summary_recall ? fmtCI(tr.summary_recall, true) : "n/a"} trained.`
      );
    })
    .join(" ");
  return { rows, finding };
}

export function analyseElicitation(a: Analysis):
  | {
      target: string;
      untrained: Interval;
      pseudo: Interval;
      supervised: Interval;
      /** null when the pseudo-labelled texts are an unlabelled pool */
      pseudo_label_accuracy: number | null;
      finding: string;
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
  const texts = el.pool
    ? `${el.examples} unlabelled texts of ${el.pool} (no labels to check them against)`
    : `${el.examples} unlabelled training texts with ${pct(acc!)} accuracy`;
  const reference = el.pool
    ? `with ${el.examples} truly labelled training texts of ${el.target}`
    : "with the true labels on the same texts";
  return {
    target: el.target,
    untrained: u,
    pseudo: p,
    supervised: s,
    pseudo_label_accuracy: acc,
    finding:
      `On ${el.target}, the untrained model's with-thinking verdicts label ${texts}; 1-token training on ` +
      `those pseudo-labels gives AUROC ${fmtCI(p)}, against ${fmtCI(u)} untrained and ${fmtCI(s)} ${reference}.`,
  };
}

export function analyse(run: RunContext) {
  const a = new Analysis(run);
  const evals = run.plan.evals.filter((e) => e.format === "single" && e.split === "test");
  const label = (m: string | null) =>
    m === null ? "untrained" : (Object.entries(run.plan.models).find(([, k]) => k === m)?.[0] ?? m);
  return {
    name: run.spec.name,
    base_model: run.spec.base_model,
    transfer: analyseTransfer(a),
    scaling: analyseScaling(a),
    prompt_change: analysePromptChange(a),
    instruction: analyseInstruction(a),
    format_transfer: analyseFormats(a),
    elicitation: analyseElicitation(a),
    evaluations: evals.map((e) => ({
      key: e.key,
      model: label(e.model),
      task: e.task,
      ...a.metrics(e.model, e.task),
      mean_mass: (run.store.result<{ mean_mass: number }>(e.key) ?? { mean_mass: NaN }).mean_mass,
    })),
    cells: run.store.cells(),
  };
}
export type Results = ReturnType<typeof analyse>;
