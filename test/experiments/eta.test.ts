/** The time left is estimated per kind of cell from what finished cells cost, not from the first cell's time. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CellClock } from "../../src/experiments/eta.js";
import { planExperiment } from "../../src/experiments/plan.js";
import { tinySpec } from "./tiny-spec.js";

test("a slow training cell does not inflate the estimate for scoring cells, and each kind is sized by its work", () => {
  const spec = tinySpec("unused");
  const plan = planExperiment(spec);
  const clock = new CellClock(spec);
  assert.equal(clock.eta(plan.evals), undefined, "nothing measured, no estimate");
  const train = plan.train[0];
  const singles = plan.evals.filter((c) => c.format === "single");
  clock.record(train, 60);
  clock.record(singles[0], 0.5);
  const perExample = 0.5 / singles[0].examples;
  const rest = singles.slice(1);
  const expected = rest.reduce((s, c) => s + c.examples * perExample, 0);
  assert.ok(Math.abs((clock.eta(rest) ?? 0) - expected) < 1e-9, "scoring cells at the scoring rate");
  // training cells at the training rate, in proportion to their size (the plan has cells of several sizes)
  const sizes = new Set(plan.train.map((c) => clock.unitsOf(c)));
  assert.ok(sizes.size > 1);
  for (const c of plan.train)
    assert.ok(Math.abs((clock.eta([c]) ?? 0) - (60 * clock.unitsOf(c)) / clock.unitsOf(train)) < 1e-9);
  // thinking not measured yet: bounded by the slowest measured evaluation rate, per unit of its (larger) size
  const thinking = plan.evals.find((c) => c.format === "thinking")!;
  assert.ok(clock.unitsOf(thinking) > thinking.examples);
  assert.ok(Math.abs((clock.eta([thinking]) ?? 0) - clock.unitsOf(thinking) * perExample) < 1e-9);
});
