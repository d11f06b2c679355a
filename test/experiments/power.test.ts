/**
 * `crossmon plan`'s figures: the detectable effect follows its formula (more examples or replicates, a smaller
 * effect); a pilot run (here a planted-truth study) gives measured variances and time per unit of work.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PlantedBackend, PlantedExamples } from "../../src/backends/planted.js";
import { coverageSpec, coverageTruth } from "../../src/experiments/coverage.js";
import { DEFAULT_VARIANCES, detectableEffect, formatSpecPlan, planSpec } from "../../src/experiments/power.js";
import { planRun, runExperiment } from "../../src/experiments/runner.js";
import { tinySpec } from "./tiny-spec.js";

test("the detectable effect: 2.8 test SEs with one replicate; smaller with more examples or replicates", () => {
  const v = DEFAULT_VARIANCES;
  // one replicate: z₀.₉₇₅ + z₀.₈₀ = 2.80 test standard errors (the interval ignores training noise)
  assert.ok(Math.abs(detectableEffect(v, 100, 0, 1) - (1.96 + 0.8416) * (v.test_sd / 10)) < 1e-3);
  assert.ok(detectableEffect(v, 400, 0, 3) < detectableEffect(v, 100, 0, 3));
  assert.ok(detectableEffect(v, 100, 0, 10) < detectableEffect(v, 100, 0, 3));
  // two trained sides carry two models' seed noise
  assert.ok(detectableEffect(v, 100, 3, 3) > detectableEffect(v, 100, 0, 3));
});

test("a plan per question, with variances and time measured on a pilot run", async () => {
  const spec = tinySpec("models/crossmon-base", { replicates: 2 });
  const plain = planSpec(spec);
  assert.deepEqual(
    plain.questions.map((q) => q.question),
    ["transfer", "scaling", "prompt_change", "instruction", "format_transfer", "elicitation"],
  );
  assert.ok(plain.questions.every((q) => q.seconds === null && q.replicates === 2));
  assert.match(formatSpecPlan(plain), /stated defaults/);

  const dir = mkdtempSync(join(tmpdir(), "crossmon-pilot-"));
  try {
    const pilotSpec = coverageSpec("models/crossmon-base", 1, 3, 100);
    const prepared = await planRun(pilotSpec, () => {});
    const backend = new PlantedBackend(coverageTruth(0.03), new PlantedExamples(prepared.train), 1);
    const pilot = await runExperiment(pilotSpec, dir, { backend, quiet: true, log: () => {} });
    const p = planSpec(spec, { pilot });
    pilot.store.close();
    assert.match(p.variances.source, /^pilot .*\(4 paired differences, 4 with replicates\)$/);
    assert.ok(p.variances.test_sd > 0.1 && p.variances.test_sd < 1.5, `${p.variances.test_sd}`);
    assert.ok(p.variances.seed_sd > 0 && p.variances.seed_sd < 0.15, `${p.variances.seed_sd}`);
    assert.ok(p.total.seconds !== null && p.total.seconds >= 0);
    assert.ok(p.questions.every((q) => q.seconds !== null));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
