/** A monitor's operating point as deployed: the threshold set on clean negatives. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { thresholdAt } from "../../src/experiments/questions/operating-point.js";

test("a deployed monitor's threshold: at most the asked share of clean negatives lies above it", () => {
  const negatives = Array.from({ length: 200 }, (_, i) => i / 200);
  for (const fpr of [0, 0.01, 0.05, 0.5]) {
    const t = thresholdAt(negatives, fpr);
    const above = negatives.filter((x) => x > t).length / negatives.length;
    assert.ok(above <= fpr && above > fpr - 0.01, `fpr ${fpr}: ${above} above ${t}`);
  }
  assert.equal(thresholdAt([0.3, 0.3, 0.3], 0.01), 0.3, "ties: nothing above, never a share past the one asked");
  assert.equal(thresholdAt([], 0.05), Number.NEGATIVE_INFINITY);
});
