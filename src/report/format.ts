/** How the report writes numbers and intervals: two decimals or a percentage, with bounds that show their side of 0. */
import type { Interval } from "../eval/metrics.js";

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
/**
 * A figure with its 95% interval. An interval of no width (every resample gave the same value: all scores tied, or a
 * share of 0 or 1 by the bootstrap) says nothing of the uncertainty, and is written so, not as "[0.00, 0.00]".
 */
export const fmtCI = (i: Interval, asPct = false) => {
  const v = asPct ? pct(i.value) : f2(i.value);
  if (i.lo === i.hi && Number.isFinite(i.lo)) return `${v} (no interval: every resample gave the same value)`;
  return `${v} [${bound(i.lo, asPct)}, ${bound(i.hi, asPct)}]`;
};
