/**
 * Every example spec in examples/ runs, at tiny size (the toy base model, a small world), through the same commands a
 * user runs; and a spec that leaves out its sections gets the documented defaults.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { importInspect } from "../../src/data/import/inspect.js";
import { parseLabelRule } from "../../src/data/import/inspect-label.js";
import { runExperiment } from "../../src/experiments/runner.js";
import { parseExperimentSpec, readExperimentSpec } from "../../src/experiments/spec.js";
import { runTraining } from "../../src/train/run.js";
import { parseTrainSpec, readTrainSpec } from "../../src/train/spec.js";
import { sample, writeEvalLog } from "../data/import/inspect-fixtures.js";
import { toyBase } from "../train/toy-base.js";

const EX = join(import.meta.dirname, "..", "..", "examples");
const quiet = { quiet: true, log: () => {} };

/** An example's YAML with the toy base model and a small world, written into `dir` (so relative paths are there). */
// biome-ignore lint/suspicious/noExplicitAny: the example files' YAML, edited in place by each test as its shape is known
function tinyCopy(name: string, dir: string, shrink: (raw: Record<string, any>) => void = () => {}): string {
  const raw = YAML.parse(readFileSync(join(EX, name), "utf8"));
  raw.base_model = toyBase();
  raw.data.world = { seed: 0, size: 80 };
  shrink(raw);
  const file = join(dir, name);
  writeFileSync(file, YAML.stringify(raw));
  return file;
}

/** tasks/bash in `dir`: task bash_monitor imported from an Inspect log of 60 samples, attack and honest in turn. */
async function importBash(dir: string): Promise<void> {
  const samples = Array.from({ length: 60 }, (_, i) => sample({ id: i, mode: i % 2 ? "attack" : "honest" }));
  await writeEvalLog(join(dir, "control.eval"), samples);
  mkdirSync(join(dir, "tasks"));
  await importInspect([join(dir, "control.eval")], {
    out: join(dir, "tasks", "bash"),
    task: "bash_monitor",
    label: parseLabelRule("metadata.eval_mode=attack"),
    quiet: true,
  });
}

const HYPER = { lr: 0.01, batch_size: 8, micro_batch: 8, epochs: 1, max_tokens: 256, threads: 1 };

test("an experiment spec with only a name, a base model and one question gets the documented defaults", () => {
  const spec = parseExperimentSpec({
    name: "minimal",
    base_model: "models/crossmon-base",
    experiments: { transfer: { sources: { cyber: ["cyber_harm"] }, eval_tasks: ["agent_dangerous"] } },
  });
  assert.equal(spec.seed, 0);
  assert.deepEqual(spec.train, {
    method: "lora",
    lora: { rank: 16, alpha: 32, dropout: 0.05, targets: ["all-linear"] },
    hyper: {
      lr: 1e-3,
      batch_size: 16,
      micro_batch: 8,
      epochs: 1,
      warmup: 0.05,
      schedule: "cosine",
      weight_decay: 0,
      max_grad_norm: 1,
      max_tokens: 768,
      checkpoint_every: 20,
    },
    examples_per_task: 300,
  });
  assert.deepEqual(spec.eval, {
    examples: 200,
    validation: 100,
    bootstrap: 1000,
    thinking: { examples: 60, k: 1, max_tokens: 48, temperature: 0 },
    summary: { examples: 60, max_tokens: 64 },
  });
  assert.deepEqual(spec.data, { split_seed: 0, instruction_pool: 20000, allow_outside: false });
  assert.equal(spec.experiments.transfer?.leave_one_out, true);
});

test("a training spec with only a base model and a stage gets the documented defaults", () => {
  const spec = parseTrainSpec({
    base_model: "models/crossmon-base",
    stages: [{ name: "c", mixture: { classification: [{ task: "cyber_harm", examples: 10 }] } }],
  });
  assert.equal(spec.hyper.lr, 1e-3);
  assert.equal(spec.hyper.max_tokens, 768);
  assert.equal(spec.hyper.schedule, "cosine");
  assert.deepEqual(spec.data, { split_seed: 0, instruction_pool: 20000, allow_outside: false });
});

test("examples/transfer-to-inspect.yaml runs as written (its defaults), on a task imported from an Inspect log", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-example-"));
  // 60 samples: the imported task's training split is smaller than examples_per_task's default, which it then caps
  await importBash(dir);
  const spec = readExperimentSpec(tinyCopy("transfer-to-inspect.yaml", dir));
  assert.equal(spec.train.examples_per_task, 300);
  const lines: string[] = [];
  const run = await runExperiment(spec, join(dir, "run"), { quiet: true, log: (l) => lines.push(l) });
  assert.ok(
    lines.some((l) =>
      /^train: bash_monitor has \d+ training examples; using \d+ where examples_per_task asks for 300$/.test(l),
    ),
    lines.join("\n"),
  );
  for (const c of [...run.plan.train, ...run.plan.evals]) assert.ok(run.store.result(c.key), `cell ${c.key} done`);
});

test("examples/experiment.yaml runs all six questions at tiny size", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-example-"));
  const file = tinyCopy("experiment.yaml", dir, (raw) => {
    raw.data.instruction_pool = 100;
    raw.train.hyper = HYPER;
    raw.train.lora.rank = 4;
    raw.train.examples_per_task = 16;
    raw.eval = {
      examples: 20,
      validation: 8,
      bootstrap: 50,
      thinking: { examples: 4, k: 1, max_tokens: 8, temperature: 0 },
      summary: { examples: 4, max_tokens: 8 },
    };
    const e = raw.experiments;
    Object.assign(e.scaling, { in_domain: 8, adjacent: [0, 8] });
    e.instruction.after_examples = 8;
    e.elicitation.examples = 16;
  });
  const run = await runExperiment(readExperimentSpec(file), join(dir, "run"), quiet);
  for (const q of ["transfer", "scaling", "prompt_change", "instruction", "format_transfer", "elicitation"])
    assert.ok(q in run.spec.experiments, q);
  for (const c of [...run.plan.train, ...run.plan.evals]) assert.ok(run.store.result(c.key), `cell ${c.key} done`);
});

test("examples/robustness.yaml and robustness-inspect.yaml run both robustness questions at tiny size", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-example-"));
  await importBash(dir);
  for (const name of ["robustness.yaml", "robustness-inspect.yaml"]) {
    const file = tinyCopy(name, dir, (raw) => {
      raw.replicates = 1;
      raw.train = {
        lora: { rank: 4, alpha: 8, dropout: 0, targets: ["all-linear"] },
        hyper: HYPER,
        examples_per_task: 16,
      };
      raw.eval = { examples: 12, validation: 8, bootstrap: 50 };
      Object.assign(raw.experiments.context_length, { lengths: [0, 200], positions: ["start"] });
      raw.experiments.context_length.models.sources = { cyber: ["cyber_harm"] };
      raw.experiments.evasion.models.sources = {};
    });
    const run = await runExperiment(readExperimentSpec(file), join(dir, `run-${name}`), quiet);
    for (const c of [...run.plan.train, ...run.plan.evals])
      assert.ok(run.store.result(c.key), `${name}: ${c.key} done`);
    assert.ok(run.plan.evals.some((c) => c.task.endsWith("~pad-200-start")));
    assert.ok(run.plan.evals.some((c) => c.task.endsWith("~inject-homoglyphs-start-positives")));
  }
});

test("examples/train.yaml trains both its stages at tiny size", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-example-"));
  const file = tinyCopy("train.yaml", dir, (raw) => {
    raw.data.instruction_pool = 100;
    raw.hyper = { ...raw.hyper, ...HYPER };
    raw.lora.rank = 4;
    for (const st of raw.stages) {
      for (const c of st.mixture.classification ?? []) c.examples = 8;
      if (st.mixture.instruction?.examples) st.mixture.instruction.examples = 8;
    }
  });
  const r = await runTraining(readTrainSpec(file), join(dir, "run"), quiet);
  assert.deepEqual(
    r.stages.map((s) => s.name),
    ["classification", "instruction-following"],
  );
});
