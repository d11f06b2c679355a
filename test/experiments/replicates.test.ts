/**
 * Replicates in the plan: each training cell N times, seeds from named streams, every replicate scored on the same
 * test examples; the first replicate keeps the key of a model trained once (a run resumes across the change); a
 * question's own `replicates` overrides the spec's; models two questions share keep the larger count.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { deriveSeed } from "../../src/core/random.js";
import { planExperiment } from "../../src/experiments/plan.js";
import { tinySpec } from "./tiny-spec.js";

test("replicates: N trainings per recipe with their own seeds and keys, each evaluated; the first keeps its key", () => {
  const once = planExperiment(tinySpec("unused"));
  const spec = tinySpec("unused", { replicates: 3 });
  const plan = planExperiment(spec);
  assert.equal(plan.train.length, 3 * once.train.length);
  const label = "source:cyber";
  const keys = plan.replicates![label];
  assert.equal(keys.length, 3);
  assert.equal(keys[0], once.models[label], "replicate 1 is the model a run without replicates trained");
  const cells = keys.map((k) => plan.train.find((c) => c.key === k)!);
  assert.deepEqual(
    cells.map((c) => c.seed),
    [0, deriveSeed(0, "replicate.1"), deriveSeed(0, "replicate.2")],
  );
  assert.deepEqual(
    cells.map((c) => c.label),
    ["source:cyber", "source:cyber#2", "source:cyber#3"],
  );
  assert.equal(plan.models["source:cyber#3"], keys[2], "each replicate has a name status and the viewer show");
  // every replicate is scored on each held-out task, the untrained model once
  for (const k of keys)
    assert.ok(plan.evals.some((e) => e.model === k && e.task === "agent_dangerous" && e.split === "test"));
  const untrained = plan.evals.filter(
    (e) => e.model === null && e.task === "agent_dangerous" && e.split === "test" && e.format === "single",
  );
  assert.equal(untrained.length, 1);
  // the elicited training reads its pseudo-labels from the one untrained evaluation, every replicate of it
  const pseudo = plan.replicates!["elicit:pseudo"].map((k) => plan.train.find((c) => c.key === k)!.pseudoFrom);
  assert.equal(new Set(pseudo).size, 1);
});

test("a question's replicates override the spec's; a model two questions share keeps the larger count", () => {
  const base = tinySpec("unused");
  const spec = tinySpec("unused", {
    replicates: 1,
    experiments: {
      ...base.experiments,
      transfer: { ...base.experiments.transfer, replicates: 4 },
      // format transfer and instruction both train on cyber_harm alone, with one replicate each
    },
  });
  const plan = planExperiment(spec);
  assert.equal(plan.replicates!["source:cyber"].length, 4);
  assert.equal(plan.replicates!["in-domain:agent_dangerous"].length, 4);
  assert.equal(plan.replicates!["scaling:8"].length, 1);
  assert.throws(() => tinySpec("unused", { replicates: 0 }), /replicates/);
});
