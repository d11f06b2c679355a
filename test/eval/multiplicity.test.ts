/** Holm's correction for counts over many claims, and the p-values read from intervals. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { countClear, holm, pFromInterval } from "../../src/eval/multiplicity.js";

test("Holm's step-down: the smallest p against alpha/m, the next against alpha/(m-1), stopping at the first that fails", () => {
  // m = 4: 0.01 ≤ 0.0125, 0.02 ≤ 0.0167 is false → only the first
  assert.deepEqual(holm([0.02, 0.01, 0.03, 0.5]), [false, true, false, false]);
  assert.deepEqual(holm([0.001, 0.011, 0.02, 0.04]), [true, true, true, true]);
  assert.deepEqual(holm([0.2, 0.3]), [false, false]);
  assert.deepEqual(holm([]), []);
});

test("a p-value from an interval: the estimate's distance from the null in bootstrap standard errors", () => {
  // an interval of half-width 1.96 se around 1.96 se from the null: p = 0.05
  assert.ok(Math.abs(pFromInterval({ value: 0.1, lo: 0, hi: 0.2 }, 0) - 0.05) < 1e-3);
  assert.ok(pFromInterval({ value: 0.7, lo: 0.65, hi: 0.75 }, 0.5) < 1e-6);
  assert.ok(pFromInterval({ value: 0.5, lo: 0.4, hi: 0.6 }, 0.5) > 0.9999);
  assert.equal(pFromInterval({ value: 0.9, lo: 0.9, hi: 0.9 }, 0.5), 1, "a zero-width interval measures nothing");
});

test("counts: uncorrected against Holm's, where twenty barely-clear claims do not all survive", () => {
  const barely = Array.from({ length: 20 }, () => ({ value: 0.56, lo: 0.505, hi: 0.615 }));
  const strong = { value: 0.9, lo: 0.85, hi: 0.95 };
  const c = countClear([...barely, strong], 0.5, "above");
  assert.deepEqual(c, { of: 21, uncorrected: 21, holm: 1 });
  const below = countClear([{ value: 0.2, lo: 0.1, hi: 0.3 }], 0.5, "above");
  assert.deepEqual(below, { of: 1, uncorrected: 0, holm: 0 }, "clearly below is not above");
  assert.deepEqual(countClear([{ value: -0.2, lo: -0.3, hi: -0.1 }], 0, "either"), { of: 1, uncorrected: 1, holm: 1 });
});
