/**
 * The planted-truth check, quick: simulated studies through the real plan → cells → analysis → findings path on a
 * backend with known AUROCs (the full one is `npm run bench -- coverage`). With 3 replicates the 95% intervals cover
 * the truth about 95% of the time; with one replicate and training noise they cover test sampling only, and miss.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { measureCoverage } from "../../src/experiments/coverage.js";

const share = (c: { covered: number; of: number }) => c.covered / c.of;

test("with 3 replicates, AUROC and paired-difference intervals cover the planted truth", async () => {
  const c = await measureCoverage({ base: "models/crossmon-base", replicates: 3, seedSd: 0.03, studies: 16 });
  assert.equal(c.auroc.of, 16 * 8, "every AUROC interval of every study is counted");
  // 128 and 96 intervals: a true coverage of 0.95 falls under 0.88 with a chance well below 1%
  assert.ok(share(c.auroc) >= 0.88, JSON.stringify(c));
  assert.ok(share(c.diff) >= 0.88, JSON.stringify(c));
  assert.ok(c.gap.of > 0 && share(c.gap) >= 0.8, JSON.stringify(c));
});

test("with one replicate and training noise, the intervals (test sampling only) miss the truth more often", async () => {
  const once = await measureCoverage({ base: "models/crossmon-base", replicates: 1, seedSd: 0.06, studies: 16 });
  // the trained models' AUROCs move by the seed's draw, which a test-only interval does not cover
  assert.ok(share(once.diff) < 0.85, JSON.stringify(once));
});
