/**
 * Figures over training replicates: the resampled AUROC equals the plain one on the resampled arrays; one replicate
 * gives the percentile interval of before; the combined interval widens with the replicates' spread and narrows to
 * the test-only one without it; Student's t and Wilson's interval against known values.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { auroc, ResampledAuroc } from "../../src/eval/auroc.js";
import { normalQuantile, tCdf, tQuantile } from "../../src/eval/distributions.js";
import { aurocCI, bootstrapIndices, pairedAurocDiff } from "../../src/eval/metrics.js";
import { pFromInterval } from "../../src/eval/multiplicity.js";
import { aurocOver, diffOver, gapOver, proportionOver } from "../../src/eval/replicated.js";
import { Rng } from "../../src/core/random.js";

const rng = new Rng(7);
const n = 160;
const labels = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
// scores on a coarse grid, so resamples hold many ties
const draw = (shift: number) => labels.map((y) => Math.round((y * shift + rng.normal()) * 4) / 4);

test("ResampledAuroc equals auroc() on the resampled arrays, ties included", () => {
  const s = draw(1);
  const r = new ResampledAuroc(labels, s);
  for (const idx of bootstrapIndices(labels, 50, 3)) {
    const counts = new Float64Array(n);
    for (const i of idx) counts[i]++;
    const want = auroc(
      Array.from(idx, (i) => labels[i]),
      Array.from(idx, (i) => s[i]),
    );
    assert.ok(Math.abs(r.of(counts) - want) < 1e-12, `${r.of(counts)} vs ${want}`);
  }
});

test("one replicate gives the bootstrap percentile interval, as a model trained once always had", () => {
  const u = draw(0.2),
    d = draw(1.5);
  const boot = { n: 300, seed: 5 };
  const a = aurocOver(labels, [d], boot),
    b = aurocCI(labels, d, boot);
  for (const k of ["value", "lo", "hi"] as const) assert.ok(Math.abs(a[k] - b[k]) < 1e-12, k);
  assert.equal(a.replicates, undefined);
  const da = diffOver(labels, [u], [d], boot),
    db = pairedAurocDiff(labels, u, d, boot);
  for (const k of ["value", "lo", "hi"] as const) assert.ok(Math.abs(da[k] - db[k]) < 1e-12, k);
});

test("over replicates: the mean, each replicate's value, and an interval that grows with their spread", () => {
  const boot = { n: 300, seed: 1 };
  const same = draw(1);
  const still = aurocOver(labels, [same, same, same], boot);
  assert.equal(still.df, Infinity, "no spread between replicates: the seed part is zero");
  assert.deepEqual(still.replicates, [auroc(labels, same), auroc(labels, same), auroc(labels, same)]);
  const spread = aurocOver(labels, [draw(0.5), draw(1), draw(1.8)], boot);
  assert.ok(spread.hi - spread.lo > still.hi - still.lo, "replicates that disagree widen the interval");
  assert.ok(Number.isFinite(spread.df!) && spread.df! >= 2, `df ${spread.df}`);
  const mean = spread.replicates!.reduce((x, y) => x + y, 0) / 3;
  assert.ok(Math.abs(spread.value - mean) < 1e-12);
  // the p-value reads the interval's own standard error and degrees of freedom
  const z = Math.abs(spread.value - 0.5) / spread.se!;
  assert.ok(Math.abs(pFromInterval(spread, 0.5) - 2 * (1 - tCdf(z, spread.df!))) < 1e-12);
  assert.ok(pFromInterval(spread, 0.5) > 2 * (1 - tCdf(z, Infinity)), "t's heavier tails: a larger p than the normal");
  assert.throws(() => diffOver(labels, [same, same], [same, same, same], boot), /cannot be paired/);
  // an untrained model (one replicate) stands beside every replicate of a trained one
  const d = diffOver(labels, [draw(0)], [draw(1), draw(1.2), draw(1.4)], boot);
  assert.equal(d.replicates!.length, 3);
});

test("gap recovered over replicates is the ratio of mean gains; resamples without a gap are counted", () => {
  const boot = { n: 200, seed: 2 };
  const u = [draw(0)];
  const dm = [draw(2), draw(2.2), draw(1.9)];
  const s = [draw(1), draw(0.9), draw(1.1)];
  const g = gapOver(labels, u, dm, s, boot);
  const gain = (x: number[][]) => x.map((sc) => auroc(labels, sc) - auroc(labels, u[0]));
  const want = gain(s).reduce((a, b) => a + b) / gain(dm).reduce((a, b) => a + b);
  assert.ok(Math.abs(g.value - want) < 1e-12);
  assert.ok(g.lo < g.value && g.value < g.hi);
  const none = gapOver(labels, u, [draw(0)], [draw(0)], boot);
  assert.ok(none.dropped > 0 || !Number.isFinite(none.value), "a gap near zero drops resamples, and says so");
});

test("Student's t, the normal quantile and Wilson's interval against known values", () => {
  assert.ok(Math.abs(tQuantile(0.975, 1) - 12.7062) < 1e-3);
  assert.ok(Math.abs(tQuantile(0.975, 2) - 4.3027) < 1e-3);
  assert.ok(Math.abs(tQuantile(0.975, 10) - 2.2281) < 1e-3);
  assert.ok(Math.abs(normalQuantile(0.975) - 1.95996) < 1e-4);
  // 15 of 15: Wilson's interval is [0.796, 1], where the percentile bootstrap gives the empty [1, 1]
  const w = proportionOver([15], 15);
  assert.equal(w.value, 1);
  assert.ok(Math.abs(w.lo - 0.7961) < 1e-3 && w.hi === 1, JSON.stringify(w));
  // replicates that disagree: the same items count for less
  const spread = proportionOver([10, 15, 12], 15);
  assert.ok(spread.hi - spread.lo > proportionOver([12, 12, 13], 15).hi - proportionOver([12, 12, 13], 15).lo);
});
