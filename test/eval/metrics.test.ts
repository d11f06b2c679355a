/** Metrics against scikit-learn (python/fixtures/make_metric_fixtures.py) and against hand-worked cases. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { auroc } from "../../src/index.js";
import {
  accuracy,
  aurocCI,
  bestThreshold,
  brier,
  ece,
  gapRecovered,
  logLoss,
  metricSet,
  pairedAurocDiff,
  spearman,
  tprAtFpr,
  withinLabelSpearman,
} from "../../src/eval/metrics.js";

const fx = JSON.parse(readFileSync(join(import.meta.dirname, "..", "fixtures", "metrics-sklearn.json"), "utf8")) as {
  cases: {
    labels: number[];
    scores: number[];
    probs: number[];
    auroc: number;
    brier: number;
    log_loss: number;
    tpr_at_1pct: number;
    tpr_at_5pct: number;
    tpr_at_20pct: number;
  }[];
};

test("AUROC, Brier, log-loss and TPR at fixed FPR equal scikit-learn's, ties included", () => {
  for (const c of fx.cases) {
    assert.ok(
      Math.abs(auroc(c.labels, c.scores) - c.auroc) < 1e-12,
      `auroc ${auroc(c.labels, c.scores)} vs ${c.auroc}`,
    );
    assert.ok(Math.abs(brier(c.labels, c.probs) - c.brier) < 1e-12);
    assert.ok(Math.abs(logLoss(c.labels, c.probs) - c.log_loss) < 1e-12);
    assert.equal(tprAtFpr(c.labels, c.scores, 0.01), c.tpr_at_1pct);
    assert.equal(tprAtFpr(c.labels, c.scores, 0.05), c.tpr_at_5pct);
    assert.equal(tprAtFpr(c.labels, c.scores, 0.2), c.tpr_at_20pct);
  }
});

test("auroc from the package entry point: booleans or 0/1, clear errors", () => {
  assert.equal(auroc([true, false, true, false], [0.9, 0.1, 0.8, 0.3]), 1);
  assert.equal(auroc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
  assert.equal(auroc([1, 0], [0.2, 0.8]), 0);
  assert.throws(() => auroc([1, 1], [0.1, 0.2]), /at least one positive and one negative/);
  assert.throws(() => auroc([1, 0], [0.1]), /2 labels but 1 scores/);
  assert.throws(() => auroc([1, 2], [0.1, 0.2]), /label 1 is 2/);
});

test("bootstrap intervals contain the estimate, narrow with more data, and are reproducible", () => {
  const c = fx.cases[3];
  const ci = aurocCI(c.labels, c.scores, { n: 300, seed: 1 });
  assert.ok(ci.lo <= ci.value && ci.value <= ci.hi && ci.hi - ci.lo < 0.15);
  assert.deepEqual(aurocCI(c.labels, c.scores, { n: 300, seed: 1 }), ci);
  const small = aurocCI(c.labels.slice(0, 60), c.scores.slice(0, 60), { n: 300, seed: 1 });
  assert.ok(small.hi - small.lo > ci.hi - ci.lo);
});

test("paired differences and gap recovered on hand-built scores", () => {
  const labels = [0, 0, 0, 0, 1, 1, 1, 1];
  const untrained = [0.5, 0.6, 0.4, 0.7, 0.45, 0.55, 0.65, 0.35]; // AUROC 0.4375
  const inDomain = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]; // 1
  const other = [0.3, 0.5, 0.2, 0.6, 0.55, 0.4, 0.7, 0.8];
  const a = auroc(labels, untrained),
    b = auroc(labels, inDomain),
    x = auroc(labels, other);
  const g = gapRecovered(labels, untrained, inDomain, other, { n: 200 });
  assert.ok(Math.abs(g.value - (x - a) / (b - a)) < 1e-12);
  assert.ok(g.lo <= g.value + 1e-9 && g.hi >= g.value - 1e-9);
  const d = pairedAurocDiff(labels, untrained, inDomain, { n: 200 });
  assert.ok(Math.abs(d.value - (b - a)) < 1e-12 && d.lo > 0);
  assert.ok(
    Number.isNaN(gapRecovered(labels, inDomain, untrained, other, { n: 10 }).value),
    "no gap: NaN, not a division blow-up",
  );
});

test("accuracy, validation threshold, ECE", () => {
  assert.equal(accuracy([1, 0, 1, 0], [0.9, 0.4, 0.6, 0.7]), 0.75);
  const t = bestThreshold([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]);
  assert.ok(t > 0.2 && t < 0.3);
  assert.equal(ece([1, 0], [1, 0]), 0);
  assert.ok(Math.abs(ece([1, 1, 0, 0], [0.75, 0.75, 0.75, 0.75]) - 0.25) < 1e-12);
  const m = metricSet(
    [0, 1, 0, 1, 1, 0],
    [0.2, 0.7, 0.4, 0.9, 0.6, 0.5],
    { labels: [0, 1], probs: [0.3, 0.6] },
    { n: 50 },
  );
  assert.equal(m.auroc.value, 1);
  assert.equal(m.accuracy_at_half, 5 / 6);
  assert.ok(m.val_threshold! > 0.3 && m.val_threshold! < 0.6);
});

test("Spearman's ρ with ties (hand-worked: 8/√95), and ρ within a label: following length is told from being right", () => {
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 8 / Math.sqrt(95)) < 1e-12);
  assert.equal(spearman([3, 1, 2], [30, 10, 20]), 1);
  assert.equal(spearman([3, 1, 2], [-30, -10, -20]), -1);
  assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])), "a constant side has no ρ");
  // positives are long, negatives short: length alone separates the labels
  const labels = Array.from({ length: 40 }, (_, i) => i % 2 === 0);
  const lengths = labels.map((y, i) => (y ? 100 : 20) + ((i * 7) % 13));
  // a monitor that is right from the text (its score has nothing to do with length within a label) ...
  const reads = labels.map((y, i) => (y ? 0.8 : 0.2) + ((i * 5) % 11) / 100);
  assert.ok(spearman(reads, lengths) > 0.6, `over both labels it looks like length: ${spearman(reads, lengths)}`);
  assert.ok(
    Math.abs(withinLabelSpearman(labels, reads, lengths)) < 0.5,
    `within a label it does not: ${withinLabelSpearman(labels, reads, lengths)}`,
  );
  // ... and one whose score is length
  assert.equal(
    withinLabelSpearman(
      labels,
      lengths.map((l) => l / 200),
      lengths,
    ),
    1,
  );
  assert.ok(Number.isNaN(withinLabelSpearman([true, false], [0.5, 0.5], [1, 2])), "too few texts per label");
});
