/**
 * Before any training: what a spec will cost and what it can detect. Per question its cells, the estimated time
 * (seconds per unit of work, from a pilot run's finished cells), its test examples and replicates, and the smallest
 * paired AUROC difference its headline comparison detects with 80% power at the 5% level:
 *   se² = σ_test² / n + σ_seed² · (1/k_a + 1/k_b),   detectable = (t₀.₉₇₅ + t₀.₈₀) · se,
 * with σ_test the per-example SD of a paired AUROC difference and σ_seed a trained model's AUROC SD across training
 * seeds (the untrained model has none), both measured on a pilot run or the stated defaults.
 */
import { tQuantile } from "../eval/distributions.js";
import { intervalSe } from "../eval/multiplicity.js";
import { diffOver } from "../eval/replicated.js";
import { Analysis } from "./analyze.js";
import { CellClock } from "./eta.js";
import { models } from "./models.js";
import { planExperiment } from "./plan.js";
import { QUESTIONS } from "./questions/index.js";
import type { RunContext } from "./runner.js";
import type { ExperimentSpec } from "./spec.js";

export type Question = keyof ExperimentSpec["experiments"];
/** The questions in the report's order (the registry's). */
const QUESTION_IDS: Question[] = QUESTIONS.map((q) => q.id);

/** The variances a detectable effect is computed from, and where they came from. */
export interface Variances {
  /** per-example SD of a paired AUROC difference (its test SE is this over √n) */
  test_sd: number;
  /** SD of a trained model's AUROC across training seeds */
  seed_sd: number;
  source: string;
}

/**
 * Stated defaults, for a plan without a pilot: a per-example SD of a paired AUROC difference of 0.25 (the quickstart's
 * pilot measured 0.17 on the built-in world; rounded up for data not yet seen), and a seed SD of 0.04 (re-running the
 * quickstart's training with seeds 0..4 moved a paired difference by 0.7–2.1 times its test-only standard error).
 */
export const DEFAULT_VARIANCES: Variances = { test_sd: 0.25, seed_sd: 0.04, source: "stated defaults" };

/** The smallest true difference detected with 80% power by a two-sided 5% test, with k_a and k_b replicates. */
export function detectableEffect(v: Variances, n: number, ka: number, kb: number): number {
  const vTest = (v.test_sd * v.test_sd) / n;
  const vSeed = v.seed_sd * v.seed_sd * ((ka > 0 ? 1 / ka : 0) + (kb > 0 ? 1 / kb : 0));
  // with one replicate the report's interval ignores training noise: its test is of the test sampling alone
  const covered = Math.min(ka || Infinity, kb || Infinity) > 1 ? vSeed : 0;
  const se = Math.sqrt(vTest + covered);
  const df = covered > 0 ? ((vTest + covered) ** 2 * (Math.max(ka, kb) - 1)) / covered ** 2 : Infinity;
  return (tQuantile(0.975, df) + tQuantile(0.8, df)) * se;
}

/** A question's headline comparison: the test examples it is scored on, and the replicates of its two sides. */
function headline(spec: ExperimentSpec, q: Question): { what: string; n: number; ka: number; kb: number } {
  const k = spec.experiments[q]?.replicates ?? spec.replicates;
  const n = spec.eval.examples;
  switch (q) {
    case "transfer":
      return { what: "a source − untrained", n, ka: 0, kb: k };
    case "scaling":
      return { what: "most − least adjacent data", n, ka: k, kb: k };
    case "prompt_change":
      return { what: "trained − untrained on the new question", n, ka: 0, kb: k };
    case "instruction":
      return { what: "IF after − no IF", n, ka: k, kb: k };
    case "format_transfer":
      return { what: "trained − untrained, thinking", n: spec.eval.thinking.examples, ka: 0, kb: k };
    case "elicitation":
      return { what: "pseudo-labels − untrained", n, ka: 0, kb: k };
    case "context_length":
      return { what: "padded − clean, same model", n, ka: k, kb: k };
    case "evasion":
      return { what: "attacked − clean, same model", n, ka: k, kb: k };
  }
}

/** The variances measured on a pilot run: its transfer (or any) paired differences against the untrained model. */
export function pilotVariances(run: RunContext): Variances {
  const a = new Analysis(run);
  const tests: number[] = [],
    seeds: number[] = [];
  const t = run.spec.experiments.transfer;
  for (const task of t?.eval_tasks ?? [])
    for (const name of Object.keys(t?.sources ?? {})) {
      if (!a.hasModel(models.source(name))) continue;
      const u = a.reps(null, task),
        s = a.reps(models.source(name), task);
      const d = diffOver(u.labels, u.reps, s.reps, a.boot);
      const reps = d.replicates;
      const k = reps?.length ?? 1;
      const vSeed = reps ? variance(reps) : 0;
      const se = intervalSe(d);
      tests.push(Math.sqrt(Math.max(0, se * se - vSeed / k) * u.labels.length));
      if (reps) seeds.push(Math.sqrt(vSeed));
    }
  if (!tests.length) throw new Error("the pilot run has no transfer comparisons to measure variances from");
  return {
    test_sd: median(tests),
    seed_sd: seeds.length ? median(seeds) : DEFAULT_VARIANCES.seed_sd,
    source:
      `pilot ${run.dir} (${tests.length} paired differences` +
      (seeds.length ? `, ${seeds.length} with replicates)` : "; no replicates there, so the default seed SD)"),
  };
}

const variance = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export interface QuestionPlan {
  question: Question;
  train_cells: number;
  eval_cells: number;
  /** seconds, where a pilot measured the rates */
  seconds: number | null;
  test_examples: number;
  replicates: number;
  comparison: string;
  detectable: number;
}

export interface SpecPlan {
  questions: QuestionPlan[];
  /** the whole run: cells shared between questions counted once */
  total: { train_cells: number; eval_cells: number; seconds: number | null };
  variances: Variances;
  rates: string;
}

/** Seconds per unit of work of each kind of cell, from a pilot run's finished cells. */
export function pilotClock(spec: ExperimentSpec, pilot: RunContext): CellClock {
  const clock = new CellClock(spec);
  const seconds = new Map(pilot.store.cells().map((c) => [c.key, c.seconds]));
  // the pilot's own cells, sized by the pilot's spec
  const pilotClock = new CellClock(pilot.spec);
  for (const c of [...pilot.plan.train, ...pilot.plan.evals]) {
    const s = seconds.get(c.key);
    if (s != null) clock.recordUnits(c, s, pilotClock.unitsOf(c));
  }
  return clock;
}

export function planSpec(
  spec: ExperimentSpec,
  o: { pilot?: RunContext; sizes?: ReadonlyMap<string, number>; evalOnly?: ReadonlySet<string> } = {},
): SpecPlan {
  const variances = o.pilot ? pilotVariances(o.pilot) : DEFAULT_VARIANCES;
  const clock = o.pilot ? pilotClock(spec, o.pilot) : null;
  const planOf = (s: ExperimentSpec) => planExperiment(s, null, o.sizes, o.evalOnly);
  const whole = planOf(spec);
  const questions = QUESTION_IDS.filter((q) => spec.experiments[q]).map((q) => {
    const alone = planOf({ ...spec, experiments: { [q]: spec.experiments[q] } } as ExperimentSpec);
    const h = headline(spec, q);
    return {
      question: q,
      train_cells: alone.train.length,
      eval_cells: alone.evals.length,
      seconds: clock?.eta([...alone.train, ...alone.evals]) ?? null,
      test_examples: h.n,
      replicates: Math.max(h.ka, h.kb),
      comparison: h.what,
      detectable: detectableEffect(variances, h.n, h.ka, h.kb),
    };
  });
  return {
    questions,
    total: {
      train_cells: whole.train.length,
      eval_cells: whole.evals.length,
      seconds: clock?.eta([...whole.train, ...whole.evals]) ?? null,
    },
    variances,
    rates: o.pilot ? `seconds per unit of work measured on ${o.pilot.dir}` : "none (give --pilot RUN to estimate time)",
  };
}

const fmtSeconds = (s: number | null) =>
  s === null
    ? "–"
    : s < 90
      ? `${Math.round(s)} s`
      : s < 5400
        ? `${Math.round(s / 60)} min`
        : `${(s / 3600).toFixed(1)} h`;

/** The plan as a table for a terminal. */
export function formatSpecPlan(p: SpecPlan): string {
  const head = ["question", "train cells", "eval cells", "time", "test examples", "replicates", "detectable", "for"];
  const rows = p.questions.map((q) => [
    q.question,
    String(q.train_cells),
    String(q.eval_cells),
    fmtSeconds(q.seconds),
    String(q.test_examples),
    String(q.replicates),
    `${q.detectable.toFixed(3)} AUROC`,
    q.comparison,
  ]);
  rows.push(["whole run", String(p.total.train_cells), String(p.total.eval_cells), fmtSeconds(p.total.seconds)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((x, i) => (x ?? "").padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [
    line(head),
    ...rows.map(line),
    "",
    "detectable: the smallest true paired AUROC difference found with 80% power by a two-sided 5% test",
    `variances: per-example test SD ${p.variances.test_sd.toFixed(2)} (over √n), ` +
      `seed SD ${p.variances.seed_sd.toFixed(3)} (${p.variances.source})`,
    `time: ${p.rates}; questions share cells, so their times overlap and the whole run's is not their sum`,
    ...(p.questions.some((q) => q.replicates === 1)
      ? ["with 1 replicate, the report's intervals and this figure cover test sampling only (not training seeds)"]
      : []),
  ].join("\n");
}
