/** The documented example specs in examples/ are valid and plan as described. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseExperimentSpec, readExperimentSpec } from "../../src/experiments/spec.js";
import { tinySpec } from "./tiny-spec.js";
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
