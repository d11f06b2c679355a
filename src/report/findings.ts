/**
 * What a run shows over all its questions: the counts of claims (with Holm's correction) and the test sizes, beside
 * each question's sentence (written by its module, src/experiments/questions/).
 */
import { countClear } from "../eval/multiplicity.js";
import type { Analysed } from "../experiments/analyze.js";
import { QUESTIONS, type QuestionResults } from "../experiments/questions/index.js";
import { transferPairs } from "../experiments/questions/transfer.js";

export { f2, fmtCI, pct } from "./format.js";

/**
 * The run's counts over many claims, each with Holm's correction for the number of claims counted (see
 * src/eval/multiplicity.ts): evaluations clearly above chance, and paired differences on held-out tasks (trained −
 * untrained) that clearly exclude zero.
 */
/** Fewer test examples than this, and a task's intervals are wide enough that the report says so. */
export const SMALL_TEST = 50;

/** Each task's test examples (the fewest any of its evaluations scored), and those under SMALL_TEST. */
export function testSizes(a: Pick<Analysed, "evaluations">): { sizes: Record<string, number>; small: string[] } {
  const sizes: Record<string, number> = {};
  for (const e of a.evaluations) sizes[e.task] = Math.min(sizes[e.task] ?? Number.POSITIVE_INFINITY, e.n);
  return { sizes, small: Object.keys(sizes).filter((t) => sizes[t] < SMALL_TEST) };
}

export function runCounts(a: Omit<Analysed, "questions"> & QuestionResults) {
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
  const { questions, ...rest } = a;
  const answered: QuestionResults = {};
  for (const q of QUESTIONS) {
    const r = questions[q.id];
    if (r === undefined) continue;
    const finding = (q.finding as (r: unknown) => string)(r);
    (answered as Record<string, unknown>)[q.id] = { ...(r as object), finding };
  }
  const base = { ...rest, ...answered };
  return { ...base, counts: runCounts(base), test_sizes: testSizes(base) };
}
export type Results = ReturnType<typeof describe>;
