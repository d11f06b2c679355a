/**
 * Question 1, transfer across domains: train on each source (and on all but one), score held-out tasks against the
 * untrained model and the in-domain reference; gap recovered = (source − untrained) / (in-domain − untrained).
 */
import { z } from "zod";
import { holm, intervalSe, pFromInterval } from "../../eval/multiplicity.js";
import type { Interval } from "../../eval/metrics.js";
import { aurocOver, diffOver, gapOver } from "../../eval/replicated.js";
import { rocCurve } from "../../eval/metrics.js";
import { barsWithCI, ci, heatmap, rocChart } from "../../report/charts.js";
import { fmtCI, f2 } from "../../report/format.js";
import { evalOf, type Chart, type Section, type Table } from "../../report/section.js";
import type { Analysis } from "../analysis.js";
import { models } from "../models.js";
import { defineQuestion } from "./question.js";
import { Replicates, TaskList } from "./schema.js";

export const TransferSchema = z
  .object({
    sources: z.record(z.string(), TaskList),
    replicates: Replicates.optional(),
    eval_tasks: TaskList,
    leave_one_out: z.boolean().default(true),
  })
  .strict();
type TransferPart = z.infer<typeof TransferSchema>;

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
  const se = intervalSe(gap);
  return gap.value > 0 && se > 0 && gap.value / se >= GAP_MIN_Z;
}

function analyse(a: Analysis, t: TransferPart): TransferResult {
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

/**
 * Every (source, held-out task) pair of the transfer matrix with its paired difference against the untrained model,
 * and whether it clearly helps or hurts after Holm's correction over all the pairs.
 */
export function transferPairs(t: TransferResult): {
  source: string;
  task: string;
  diff: Interval;
  clear: "helps" | "hurts" | null;
}[] {
  const pairs = t.eval_tasks.flatMap((e) =>
    e.sources.map((s) => ({ source: s.name, task: e.task, diff: s.diff_vs_untrained })),
  );
  const rejected = holm(pairs.map((p) => pFromInterval(p.diff, 0)));
  return pairs.map((p, i) => ({
    ...p,
    clear: rejected[i] && p.diff.lo > 0 ? "helps" : rejected[i] && p.diff.hi < 0 ? "hurts" : null,
  }));
}

/** The matrix in a few sentences: what helps and hurts clearly (Holm), and each target's gap. */
function matrixFinding(t: TransferResult): string {
  const pairs = transferPairs(t);
  const list = (what: "helps" | "hurts") =>
    pairs
      .filter((p) => p.clear === what)
      .map((p) => `${p.source} → ${p.task} ${fmtCI(p.diff)}`)
      .join(", ");
  const helps = list("helps"),
    hurts = list("hurts");
  const gaps = t.eval_tasks
    .filter((e) => e.gap)
    .map((e) => `${e.task} ${fmtCI(e.gap!)}`)
    .join(", ");
  const nHelp = pairs.filter((p) => p.clear === "helps").length;
  const nHurt = pairs.filter((p) => p.clear === "hurts").length;
  return (
    `Of ${pairs.length} source → held-out task pairs, ${nHelp} clearly ${nHelp === 1 ? "helps" : "help"} and ` +
    `${nHurt} clearly ${nHurt === 1 ? "hurts" : "hurt"} against the untrained model ` +
    `(paired AUROC difference, Holm's correction over the ${pairs.length})` +
    (helps ? `; helping: ${helps}` : "") +
    (hurts ? `; hurting: ${hurts}` : "") +
    `. In-domain training against untrained (the gap a source could recover): ${gaps || "none measured"}.`
  );
}

function finding(t: TransferResult): string {
  // a whole matrix (more sources than a sentence per task can carry): the pairs, counted and listed
  if (t.single_sources.length > 3) return matrixFinding(t);
  return t.eval_tasks
    .map((r) => {
      const singles = r.sources
        .filter((s) => t.single_sources.includes(s.name))
        .sort((x, y) => (y.gap?.value || -9) - (x.gap?.value || -9));
      const byDiff = [...singles].sort((x, y) => y.diff_vs_untrained.value - x.diff_vs_untrained.value);
      const changes = byDiff.map((s) => `${s.name} changes AUROC by ${fmtCI(s.diff_vs_untrained)}`).join(", ");
      // an evaluation-only task: no in-domain reference, so the sources against the untrained model alone
      if (!r.in_domain || !r.gap)
        return (
          `On ${r.task} (${r.n} test examples, evaluation only: no in-domain reference), the untrained model scores ` +
          `AUROC ${fmtCI(r.untrained)}; against it, training on ${changes}.`
        );
      // a share of a gap that is not clearly there is noise over noise: say so, and give the sources' changes;
      // "no clear gap" is a statement of power, so say what size of gap could go unseen at this size
      if (!singles.some((s) => s.gap)) {
        const unseen = 2.8 * intervalSe(r.gap);
        return (
          `On ${r.task} (${r.n} test examples), in-domain training ` +
          (r.gap.lo > 0 ? "beats the untrained model, but by too little to divide by " : "does not clearly beat ") +
          `(AUROC ${fmtCI(r.in_domain)} against ${fmtCI(r.untrained)}: a difference of ${fmtCI(r.gap)}; at this ` +
          `size a true gap under about ${f2(unseen)} is missed as often as not), so no share of the gap is given; ` +
          `against the untrained model, training on ${changes}.`
        );
      }
      const [best, ...others] = singles;
      const rest = others.map((s) => `${s.name} ${s.gap ? fmtCI(s.gap, true) : "n/a"}`).join(", ");
      // the first-named source is only the highest estimate: whether it beats the next is its own paired test
      const lead = r.lead
        ? ` ${best.name}'s lead over ${r.lead.over} is ${fmtCI(r.lead.diff)} in AUROC` +
          (r.lead.diff.lo > 0 ? "." : ", an interval that includes zero: no source is clearly best.")
        : "";
      return (
        `On ${r.task} (${r.n} test examples), the untrained model scores AUROC ${fmtCI(r.untrained)} and in-domain ` +
        "training " +
        `${fmtCI(r.in_domain)}; training on ${best.name} alone recovers ${fmtCI(best.gap!, true)} of that gap ` +
        `(AUROC ${fmtCI(best.auroc)})${rest ? `, against ${rest} for the other sources` : ""}.${lead}`
      );
    })
    .join(" ");
}

function section(r: TransferResult & { finding: string }, a: Analysis): Section {
  const charts: Chart[] = [];
  const tables: Table[] = [];
  // a pair that clearly helps (▲) or hurts (▼) against untrained after Holm's correction over all pairs
  const clear = new Map(transferPairs(r).map((p) => [`${p.source}\0${p.task}`, p.clear]));
  const mark = (source: string, task: string) => {
    const c = clear.get(`${source}\0${task}`);
    return c === "helps" ? " ▲" : c === "hurts" ? " ▼" : "";
  };
  const heat = r.eval_tasks.flatMap((e) => [
    { source: "untrained", task: e.task, auroc: e.untrained.value, eval: evalOf(a, "untrained", e.task) },
    ...e.sources.map((s) => ({
      source: s.name,
      task: e.task,
      auroc: s.auroc.value,
      mark: mark(s.name, e.task),
      eval: evalOf(a, models.source(s.name), e.task),
    })),
    ...(e.in_domain
      ? [
          {
            source: "in-domain",
            task: e.task,
            auroc: e.in_domain.value,
            eval: evalOf(a, models.inDomain(e.task), e.task),
          },
        ]
      : []),
  ]);
  charts.push({
    id: "transfer-matrix",
    spec: heatmap(
      heat,
      "task",
      "source",
      "auroc",
      "AUROC by training source (rows) and held-out task (columns); ▲/▼: clearly above/below untrained (Holm)",
      // untrained first, the sources in the spec's order, in-domain last (a source missing from a column's row, the
      // target's own domain, must not move it)
      [
        "untrained",
        ...new Set([...r.single_sources, ...r.eval_tasks.flatMap((e) => e.sources.map((s) => s.name))]),
        "in-domain",
      ],
    ),
  });
  for (const e of r.eval_tasks) {
    // shares are given only over a gap clearly there (GAP_MIN_Z standard errors; see gapIsGiven)
    const measurable = e.sources.some((s) => s.gap !== null);
    // a share of a gap that is not clearly there is noise over noise: no bars, no percentages
    if (measurable)
      charts.push({
        id: `transfer-gap-${e.task}`,
        spec: barsWithCI(
          e.sources.map((s) => ({ source: s.name, ...ci(s.gap!), eval: evalOf(a, models.source(s.name), e.task) })),
          "source",
          `Gap recovered on ${e.task} (axis clipped to −100%…150%)`,
          "gap recovered",
          { rule: 0, domain: [-1, 1.5] },
        ),
      });
    const best = [...e.sources].sort(
      (x, y) => (y.diff_vs_untrained.value || -9) - (x.diff_vs_untrained.value || -9),
    )[0];
    const curves: Record<string, string | number | null>[] = [];
    for (const [name, label] of [
      ["untrained", "untrained"],
      ...(e.in_domain ? [["in-domain", models.inDomain(e.task)]] : []),
      [`source: ${best.name}`, models.source(best.name)],
    ]) {
      const p = a.preds(label === "untrained" ? null : a.model(label), e.task);
      if (!p) continue;
      const roc = rocCurve(p.labels, p.scores);
      roc.fpr.forEach((f, i) => curves.push({ model: name, fpr: f, tpr: roc.tpr[i], i }));
    }
    charts.push({ id: `transfer-roc-${e.task}`, spec: rocChart(curves, `ROC on ${e.task}`) });
    const gapCol = (s: string) =>
      measurable
        ? s
        : !e.gap
          ? "– (evaluation only)"
          : e.gap.lo > 0
            ? "– (gap too small to divide by)"
            : "– (no clear gap)";
    tables.push({
      title: `On ${e.task}`,
      head: ["source", "AUROC [95% CI]", "gap recovered [95% CI]", "AUROC − untrained [95% CI]"],
      rows: [
        ["untrained", fmtCI(e.untrained), gapCol("0"), "0"],
        ...e.sources.map((s) => [
          s.name,
          fmtCI(s.auroc),
          gapCol(s.gap ? fmtCI(s.gap, true) : ""),
          fmtCI(s.diff_vs_untrained),
        ]),
        ...(e.in_domain && e.gap ? [["in-domain", fmtCI(e.in_domain), gapCol("100%"), fmtCI(e.gap)]] : []),
      ],
    });
  }
  return {
    id: "transfer",
    title: "Transfer across domains",
    question:
      "Does training on other domains' classification tasks help on held-out monitoring tasks, and how much of the " +
      "gap to in-domain training does it close?",
    finding: r.finding,
    charts,
    tables,
  };
}

export const transfer = defineQuestion({
  id: "transfer",
  name: "transfer",
  plan(b, t: TransferPart) {
    const n = b.replicatesOf(t);
    const all = Object.keys(t.sources);
    for (const task of t.eval_tasks) {
      b.single(null, task);
      if (!b.evalOnly.has(task))
        b.single(
          b.train(models.inDomain(task), [b.stage("classification", { classification: b.cls([task]) })], n),
          task,
        );
    }
    const recipes: [string, string[]][] = all.map((s) => [s, t.sources[s]]);
    if (t.leave_one_out && all.length > 2)
      for (const s of all) recipes.push([`all but ${s}`, all.filter((x) => x !== s).flatMap((x) => t.sources[x])]);
    for (const [name, tasks] of recipes) {
      // every task of a recipe gets examples_per_task examples: "all but one" sees more data than one source
      const m = b.train(models.source(name), [b.stage("classification", { classification: b.cls(tasks) })], n);
      for (const task of t.eval_tasks) b.single(m, task);
    }
  },
  analyse,
  finding,
  section,
});
