/**
 * Counting "clearly above chance" or "clearly helps" over many tasks or pairs: each claim is a test, and among 29 of
 * them one or two pass by chance at 5% each. Holm's step-down correction keeps the chance of any false claim among
 * them at 5%. Each test's p-value comes from its interval: the estimate against the null in units of the interval's
 * bootstrap standard error (its width over 2 × 1.96), two-sided, on the normal approximation; an interval over
 * training replicates gives its own standard error and degrees of freedom (Student's t).
 */
import { normalCdf, tCdf } from "./distributions.js";
import type { Interval } from "./metrics.js";

const Z95 = 1.959963984540054;

/** An interval's standard error: its own (over replicates), or its width over 2 × 1.96 (a bootstrap interval). */
export function intervalSe(i: Interval): number {
  return i.se ?? (i.hi - i.lo) / (2 * Z95);
}

/** The two-sided p-value of "the value differs from nullValue"; 1 where the interval has no width to measure by. */
export function pFromInterval(i: Interval, nullValue: number): number {
  // an interval over replicates carries its standard error and degrees of freedom: Student's t, not the normal
  const se = intervalSe(i);
  if (!(se > 0) || !Number.isFinite(i.value)) return 1;
  const z = Math.abs(i.value - nullValue) / se;
  return Math.min(1, 2 * (1 - (i.df !== undefined ? tCdf(z, i.df) : normalCdf(z))));
}

/** Holm's step-down procedure: which of the hypotheses are rejected with the family-wise error kept at alpha. */
export function holm(p: number[], alpha = 0.05): boolean[] {
  const order = p.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = p.map(() => false);
  for (let k = 0; k < order.length; k++) {
    if (order[k][0] > alpha / (order.length - k)) break;
    out[order[k][1]] = true;
  }
  return out;
}

/** How many of the intervals lie clearly away from the null (uncorrected), and how many after Holm's correction. */
export function countClear(
  intervals: Interval[],
  nullValue: number,
  side: "above" | "either",
): { of: number; uncorrected: number; holm: number } {
  const away = (i: Interval) => (side === "above" ? i.lo > nullValue : i.lo > nullValue || i.hi < nullValue);
  const rejected = holm(intervals.map((i) => pFromInterval(i, nullValue)));
  return {
    of: intervals.length,
    uncorrected: intervals.filter(away).length,
    // a claim needs both: Holm's test, and the interval on the claimed side
    holm: intervals.filter((i, k) => rejected[k] && away(i)).length,
  };
}
