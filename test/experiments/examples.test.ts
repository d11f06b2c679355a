/** The documented example specs in examples/ are valid and plan as described. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseExperimentSpec, readExperimentSpec } from "../../src/experiments/spec.js";
import { tinySpec } from "./tiny-spec.js";
import { shortEvalNotes } from "../../src/experiments/runner.js";
import { trainingContext } from "../../src/train/run.js";
import { toyBase } from "../train/toy-base.js";
import { readTrainSpec } from "../../src/train/spec.js";
import { planExperiment } from "../../src/experiments/plan.js";

const EX = join(import.meta.dirname, "..", "..", "examples");

test("examples/train.yaml and examples/experiment.yaml parse, resolve the base model, and plan", () => {
  const t = readTrainSpec(join(EX, "train.yaml"));
  assert.deepEqual(
    t.stages.map((s) => s.name),
    ["classification", "instruction-following"],
  );
  assert.match(t.base_model, /models\/crossmon-base$/);
  const e = readExperimentSpec(join(EX, "experiment.yaml"));
  assert.match(e.base_model, /models\/crossmon-base$/);
  const p = planExperiment(e);
  assert.ok(p.train.length > 10 && p.evals.length > 50);
  for (const q of ["transfer", "scaling", "prompt_change", "instruction", "format_transfer", "elicitation"])
    assert.ok(q in e.experiments);
});

test("examples/transfer-to-inspect.yaml names the world and a task folder together, and plans transfer to it", () => {
  const e = readExperimentSpec(join(EX, "transfer-to-inspect.yaml"));
  assert.deepEqual([e.data.world, e.data.tasks], [{ seed: 0, size: 1500 }, ["tasks/bash"]]);
  const p = planExperiment(e);
  assert.ok(p.evals.some((c) => c.task === "bash_monitor"));
});

test("an experiment spec that names no experiment, or an unknown key, is refused naming the field", () => {
  const base = tinySpec("models/crossmon-base");
  assert.throws(
    () => parseExperimentSpec({ ...base, experiments: {} }, "x.yaml"),
    /x\.yaml: field "experiments": names no experiment \(transfer, scaling/,
  );
  assert.throws(
    () => parseExperimentSpec({ ...base, eval: { ...base.eval, exampels: 5 } }, "x.yaml"),
    /x\.yaml: field "eval": Unrecognized key: "exampels"/,
  );
});

test("an evaluation count above what a split holds is said once, with the count that will be used", async () => {
  const spec = tinySpec(toyBase(), { eval: { ...tinySpec(toyBase()).eval, examples: 5000, validation: 3 } });
  const ctx = await trainingContext({
    base_model: spec.base_model,
    seed: spec.seed,
    method: "lora",
    lora: spec.train.lora,
    hyper: spec.train.hyper,
    data: spec.data,
    stages: [
      { name: "x", mixture: { classification: [], prompt_contrast: false, contrast_exclude: [], source_weights: {} } },
    ],
  });
  const plan = planExperiment(spec, null);
  const notes = shortEvalNotes(plan.evals, ctx);
  const test = ctx.splits.find((s) => s.task.id === "agent_dangerous")?.test.length;
  assert.ok(
    notes.includes(`eval: agent_dangerous has ${test} test examples; using ${test} where the spec asks for 5000`),
  );
  assert.equal(new Set(notes).size, notes.length, "each once");
  assert.ok(!notes.some((n) => n.includes("validation")), "3 validation examples are there");
});
