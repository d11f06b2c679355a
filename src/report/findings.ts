/**
 * The sentences that say what a run shows, one per question, from the analysis' numbers (src/experiments/analyze.ts):
 * each with its numbers and 95% intervals, whatever they are. A share of a gap is given only where the gap is clearly
 * there; elsewhere the sentence says so and gives the changes against the untrained model instead.
 */
import type { Interval } from "../eval/metrics.js";
import { countClear, holm, pFromInterval } from "../eval/multiplicity.js";
import type { Analysed } from "../experiments/analyze.js";

// "+ 0" turns a rounded −0 into 0, so a tiny negative prints as 0.00 and 0%, not -0.00 and -0%
export const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(100 * x) + 0}%` : "n/a");
export const f2 = (x: number) => (Number.isFinite(x) ? (Number(x.toFixed(2)) + 0).toFixed(2) : "n/a");
/**
 * An interval's bound with the digits its side of zero needs: a bound that rounds to 0.00 (or 0%) but is not zero
 * gets more digits, so "[0.004, 0.09]" is seen to exclude zero and "[-0.26, 0.003]" to include it, where both read
 * "0.00" before.
 */
function bound(x: number, asPct: boolean): string {
  const scaled = asPct ? 100 * x : x;
  const plain = asPct ? pct(x) : f2(x);
  if (!Number.isFinite(x) || x === 0 || Math.abs(scaled) >= (asPct ? 0.5 : 0.005)) return plain;
  let digits = asPct ? 1 : 3;
  while (digits < 8 && Number(scaled.toFixed(digits)) === 0) digits++;
  return `${scaled.toFixed(digits)}${asPct ? "%" : ""}`;
}
export const fmtCI = (i: Interval, asPct = false) =>
  `${asPct ? pct(i.value) : f2(i.value)} [${bound(i.lo, asPct)}, ${bound(i.hi, asPct)}]`;

type Q<K extends keyof Analysed> = NonNullable<Analysed[K]>;

/**
 * Every (source, held-out task) pair of the transfer matrix with its paired difference against the untrained model,
 * and whether it clearly helps or hurts after Holm's correction over all the pairs.
 */
export function transferPairs(t: Q<"transfer">): {
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
function matrixFinding(t: Q<"transfer">): string {
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
  return (
    `Of ${pairs.length} source → held-out task pairs, ${pairs.filter((p) => p.clear === "helps").length} clearly ` +
    `help and ${pairs.filter((p) => p.clear === "hurts").length} clearly hurt against the untrained model ` +
    `(paired AUROC difference, Holm's correction over the ${pairs.length})` +
    (helps ? `; helping: ${helps}` : "") +
    (hurts ? `; hurting: ${hurts}` : "") +
    `. In-domain training against untrained (the gap a source could recover): ${gaps || "none measured"}.`
  );
}

export function transferFinding(t: Q<"transfer">): string {
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
        const unseen = 2.8 * (r.gap.se ?? (r.gap.hi - r.gap.lo) / (2 * 1.96));
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

export function scalingFinding(s: Q<"scaling">): string {
  const first = s.points[0];
  const last = s.points[s.points.length - 1];
  return (
    `With ${s.in_domain} in-domain ${s.target} examples, adding ${s.adjacent_task} examples moves ` +
    `AUROC from ${fmtCI(first.auroc)} (${first.adjacent} added) to ${fmtCI(last.auroc)} ` +
    `(${last.adjacent} added): a paired difference of ${fmtCI(s.gain)}` +
    (s.gain.lo > 0
      ? ", so the adjacent data helps here."
      : s.gain.hi < 0
        ? ", so the adjacent data hurts here."
        : ", an interval that includes zero.")
  );
}

export function promptFinding(p: Q<"prompt_change">): string {
  const [u, tr, c] = p.rows;
  return (
    `Asked the new question (${p.eval_task}) about texts of the trained domain, the model trained on ` +
    `${p.train_task} scores AUROC ${fmtCI(tr.auroc_new_prompt)} against ${fmtCI(u.auroc_new_prompt)} ` +
    `untrained; its answers agree with the new question's labels ${fmtCI(tr.follows_new, true)} of the time and ` +
    `with the trained question's labels ${fmtCI(tr.follows_trained, true)}` +
    (c
      ? `. With prompt-contrast pairs from other domains, AUROC on the new question is ` +
        `${fmtCI(c.auroc_new_prompt)} (agreement with the new labels ${fmtCI(c.follows_new, true)}, with the ` +
        `trained labels ${fmtCI(c.follows_trained, true)}).`
      : ".")
  );
}

export function instructionFinding(i: Q<"instruction">): string {
  const none = i.rows.find((r) => r.variant === "none");
  const after = i.rows.find((r) => r.variant === "after");
  if (!none || !after) throw new Error("the instruction finding needs the if:none and if:after variants");
  const parts = i.tasks.map(
    (t) =>
      `${t}: ${fmtCI(none.auroc[t])} without IF, ${fmtCI(after.auroc[t])} with IF after (difference ` +
      `${fmtCI(i.after_vs_none[t])})`,
  );
  const mixed = i.rows
    .filter((r) => r.variant.startsWith("mixed"))
    .map((r) => `${r.variant}: ${i.tasks.map((t) => f2(r.auroc[t].value)).join(" / ")}`)
    .join("; ");
  return (
    `Classification training, then IF training, gives ${parts.join("; ")}. Mixed instead (AUROC on ` +
    `${i.tasks.join(" / ")}): ${mixed}.`
  );
}

export function formatFinding(f: Q<"format_transfer">): string {
  return f.tasks
    .map((t) => {
      const [u, tr] = f.rows.filter((r) => r.task === t);
      return (
        `On ${t}, thinking classification goes from AUROC ${fmtCI(u.thinking)} untrained to ` +
        `${fmtCI(tr.thinking)} after 1-token training (${u.unparseable} and ${tr.unparseable} traces without a ` +
        `verdict line), and summaries keep the incriminating evidence in ` +
        `${u.summary_recall ? fmtCI(u.summary_recall, true) : "n/a"} of positives untrained against ` +
        `${tr.summary_recall ? fmtCI(tr.summary_recall, true) : "n/a"} trained.`
      );
    })
    .join(" ");
}

export function elicitationFinding(e: Q<"elicitation">): string {
  const texts =
    e.pool !== null || e.pseudo_label_accuracy === null
      ? `${e.examples} unlabelled texts of ${e.pool} (no labels to check them against)`
      : `${e.examples} unlabelled training texts with ${pct(e.pseudo_label_accuracy)} accuracy`;
  const reference =
    e.pool !== null
      ? `with ${e.examples} truly labelled training texts of ${e.target}`
      : "with the true labels on the same texts";
  return (
    `On ${e.target}, the untrained model's with-thinking verdicts label ${texts}; 1-token training on ` +
    `those pseudo-labels gives AUROC ${fmtCI(e.pseudo)}, against ${fmtCI(e.untrained)} untrained and ` +
    `${fmtCI(e.supervised)} ${reference}.`
  );
}

/**
 * The run's counts over many claims, each with Holm's correction for the number of claims counted (see
 * src/eval/multiplicity.ts): evaluations clearly above chance, and paired differences on held-out tasks (trained −
 * untrained) that clearly exclude zero.
 */
/** Fewer test examples than this, and a task's intervals are wide enough that the report says so. */
export const SMALL_TEST = 50;

/** Each task's test examples (the fewest any of its evaluations scored), and those under SMALL_TEST. */
export function testSizes(a: Analysed): { sizes: Record<string, number>; small: string[] } {
  const sizes: Record<string, number> = {};
  for (const e of a.evaluations) sizes[e.task] = Math.min(sizes[e.task] ?? Number.POSITIVE_INFINITY, e.n);
  return { sizes, small: Object.keys(sizes).filter((t) => sizes[t] < SMALL_TEST) };
}

export function runCounts(a: Analysed) {
  const diffs =
    a.transfer?.eval_tasks.flatMap((e) => [...(e.gap ? [e.gap] : []), ...e.sources.map((s) => s.diff_vs_untrained)]) ??
    [];
  return {
    correction: "holm" as const,
    alpha: 0.05,
    p_values:
      a.replicates > 1
        ? "two-sided, from each interval's standard error over test examples and training seeds (Student's t)"
        : "two-sided, from each interval's bootstrap standard error (normal approximation)",
    above_chance: countClear(
      a.models.map((e) => e.auroc),
      0.5,
      "above",
    ),
    paired_differences: countClear(diffs, 0, "either"),
    /** the transfer matrix's (source, held-out task) pairs that clearly help or hurt, Holm over all of them */
    transfer_pairs: a.transfer
      ? (() => {
          const pairs = transferPairs(a.transfer);
          return {
            of: pairs.length,
            helps: pairs.filter((p) => p.clear === "helps").length,
            hurts: pairs.filter((p) => p.clear === "hurts").length,
          };
        })()
      : null,
  };
}

/** The analysis with each question's sentence beside its numbers (what the report, results.json, the viewer show) */
export function describe(a: Analysed) {
  const withFinding = <T extends object>(x: T | undefined, f: (x: T) => string) =>
    x === undefined ? undefined : { ...x, finding: f(x) };
  return {
    ...a,
    counts: runCounts(a),
    test_sizes: testSizes(a),
    transfer: withFinding(a.transfer, transferFinding),
    scaling: withFinding(a.scaling, scalingFinding),
    prompt_change: withFinding(a.prompt_change, promptFinding),
    instruction: withFinding(a.instruction, instructionFinding),
    format_transfer: withFinding(a.format_transfer, formatFinding),
    elicitation: withFinding(a.elicitation, elicitationFinding),
  };
}
export type Results = ReturnType<typeof describe>;
