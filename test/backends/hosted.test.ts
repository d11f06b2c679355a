/**
 * Hosted fine-tuning against a loopback fake of the files and fine-tuning routes: the mixture uploaded as the export
 * writes it, one job per stage, 429s retried without a second job, the job's id kept so a killed run resumes polling,
 * a failed job named and forgotten, the estimate and the question before anything is paid, and a whole run.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import YAML from "yaml";
import { HostedBackend, type HostedOptions } from "../../src/backends/hosted.js";
import type { TrainState } from "../../src/backends/types.js";
import { runExperiment } from "../../src/experiments/runner.js";
import { parseExperimentSpec } from "../../src/experiments/spec.js";
import { parseTrainSpec } from "../../src/train/spec.js";
import { trainingContext } from "../../src/train/run.js";
import { analyse } from "../../src/experiments/analyze.js";
import { describe } from "../../src/report/findings.js";
import { toyBase } from "../train/toy-base.js";
import { tinySpec } from "../experiments/tiny-spec.js";
import { FakeOpenAI } from "./fake-openai.js";

const ROOT = join(import.meta.dirname, "..", "..");
let api: FakeOpenAI;
let baseURL: string;
before(async () => {
  api = new FakeOpenAI();
  baseURL = await api.start();
});
after(() => api.close());

const memory = (): TrainState & { value: unknown } => {
  const s = {
    value: undefined as unknown,
    get: () => s.value,
    set: (v: unknown) => {
      s.value = JSON.parse(JSON.stringify(v));
    },
  };
  return s;
};
const backend = (o: Partial<HostedOptions> = {}) =>
  new HostedBackend({ baseURL, model: "base-model", train: "hosted", pollSeconds: 0.01, yes: true, ...o });
const spec = () =>
  parseTrainSpec({
    base_model: toyBase(),
    data: { world: { seed: 0, size: 40 }, instruction_pool: 50 },
    hyper: { max_tokens: 256, epochs: 2 },
    stages: [
      { name: "classification", mixture: { classification: [{ task: "cyber_harm", examples: 8 }] } },
      { name: "instruction", mixture: { instruction: { examples: 4 } } },
    ],
  });

test("a training cell: its mixture uploaded with answers weighted, one job per stage, a 429 retried once", async () => {
  const s = spec();
  const ctx = await trainingContext(s);
  const state = memory();
  api.rateLimitCreates = 1;
  const lines: string[] = [];
  const ref = await backend().train(s, "unused", { context: ctx, state, log: (l) => lines.push(l) });
  assert.equal(api.limited, 1, "the 429 was answered");
  assert.equal(api.jobs.size, 2, "one job per stage, none twice");
  const [first, second] = [...api.jobs.values()];
  assert.equal(first.model, "base-model");
  assert.equal(second.model, "ft:base-model:crossmon:ftjob-1", "the second stage starts from the first's model");
  assert.deepEqual(first.body.method, { type: "supervised", supervised: { hyperparameters: { n_epochs: 2 } } });
  assert.equal(ref.hosted, "ft:ft:base-model:crossmon:ftjob-1:crossmon:ftjob-2");
  const uploaded = api.files
    .get(first.training_file)!
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(uploaded.length, 8);
  for (const u of uploaded) {
    const last = u.messages.at(-1);
    assert.deepEqual([last.role, last.weight], ["assistant", 1]);
    assert.ok(["Yes", "No"].includes(last.content), "a chat answer, without the template's leading space");
  }
  assert.deepEqual(
    (state.value as { stages: { job_id: string }[] }).stages.map((x) => x.job_id),
    ["ftjob-1", "ftjob-2"],
  );
  assert.ok(lines.some((l) => /fine-tuning job ftjob-1: succeeded, 1234 tokens trained/.test(l)));
});

test("a killed run resumes polling its job: nothing uploaded or created again", async () => {
  const s = spec();
  const before = memory();
  await backend().train(s, "unused", { state: before });
  const uploads = api.files.size;
  const jobs = api.jobs.size;
  // as a kill leaves it: the ids of the second stage's job written, its model not yet known
  const killed = memory();
  const st = before.value as { stages: { file_id: string; job_id: string; model?: string }[] };
  killed.set({ stages: [st.stages[0], { file_id: st.stages[1].file_id, job_id: st.stages[1].job_id }] });
  const ref = await backend().train(s, "unused", { state: killed });
  assert.deepEqual([api.files.size, api.jobs.size], [uploads, jobs]);
  assert.equal(ref.hosted, `ft:${st.stages[0].model}:crossmon:${st.stages[1].job_id}`);
});

test("a failed job is an error naming it, and is forgotten so that a rerun starts a new one", async () => {
  const s = spec();
  const state = memory();
  api.failNext = true;
  await assert.rejects(
    backend().train(s, "unused", { state }),
    /fine-tuning job (ftjob-\d+) failed: Training file has an error \(run again to start a new job\)/,
  );
  const after = state.value as { stages: { file_id?: string; job_id?: string }[] };
  assert.ok(after.stages[0].file_id && after.stages[0].job_id === undefined, "the file is kept, the job forgotten");
  const jobs = api.jobs.size;
  const ref = await backend().train(s, "unused", { state });
  assert.equal(api.jobs.size, jobs + 2);
  assert.match(ref.hosted!, /^ft:ft:base-model/);
});

test("nothing is paid for without a yes: the estimate, then --yes or the user's answer", async () => {
  const s = spec();
  const ctx = await trainingContext(s);
  const jobs = api.jobs.size;
  const cells = [{ spec: s, state: memory() }];
  const lines: string[] = [];
  await assert.rejects(
    backend({ yes: false, pricePerMillionTokens: 3 }).prepareTraining(cells, { context: ctx, log: () => {} }),
    /hosted fine-tuning of base-model at .*: 2 job\(s\), 12 examples, ≈\d+ training tokens .* ≈ \$\d+\.\d\d at \$3 per million: pass --yes to start it/,
  );
  await assert.rejects(
    backend({ yes: false, approve: async () => false }).prepareTraining(cells, { context: ctx, log: () => {} }),
    /not started \(answered no\)/,
  );
  let asked = "";
  await backend({
    yes: false,
    approve: async (q) => {
      asked = q;
      return true;
    },
  }).prepareTraining(cells, { context: ctx, log: (l) => lines.push(l) });
  assert.match(asked, /Start\? \[y\/N\] $/);
  assert.equal(api.jobs.size, jobs, "asking creates nothing");
  // a cell whose jobs exist already costs nothing more: no question at all
  const paid = memory();
  paid.set({ stages: [{ job_id: "ftjob-1" }, { model: "ft:x" }] });
  await backend({ yes: false }).prepareTraining([{ spec: s, state: paid }], { context: ctx, log: () => {} });
});

test("a run on the API: training cells are jobs, evaluations score the fine-tuned models; a rerun pays nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-hosted-run-"));
  const raw = {
    ...tinySpec(toyBase()),
    backend: { kind: "openai", base_url: baseURL, model: "base-model", train: "hosted", poll_seconds: 0.01 },
    experiments: {
      transfer: { sources: { cyber: ["cyber_harm"] }, eval_tasks: ["agent_dangerous"], leave_one_out: false },
    },
  };
  const s = parseExperimentSpec(raw);
  const jobs = api.jobs.size;
  const run = await runExperiment(s, join(dir, "run"), { backend: backend(), quiet: true, log: () => {} });
  const made = [...api.jobs.values()].slice(jobs);
  assert.equal(made.length, 2, "in-domain and the cyber source: one job each");
  const scored = new Set(api.log.filter((l) => l.model).map((l) => l.model));
  for (const j of made) assert.ok(scored.has(`ft:base-model:crossmon:${j.id}`), `${j.id}'s model was scored`);
  assert.ok(scored.has("base-model"), "the untrained model too");
  const t = describe(analyse(run)).transfer!;
  assert.equal(t.eval_tasks[0].task, "agent_dangerous");
  run.store.close();
  const again = await runExperiment(s, join(dir, "run"), { backend: backend(), quiet: true, log: () => {} });
  again.store.close();
  assert.equal(api.jobs.size, jobs + 2, "a finished run is not paid for twice");
  // the spec says where thinking cannot run
  assert.throws(
    () => parseExperimentSpec({ ...raw, experiments: { elicitation: { target: "agent_dangerous", examples: 8 } } }),
    /field "experiments\.elicitation": needs thinking traces scored at their verdict/,
  );

  // from the command line, without --yes and without a terminal: the estimate and exit 2, nothing created
  const file = join(dir, "hosted.yaml");
  writeFileSync(file, YAML.stringify({ ...raw, name: "hosted-cli" }));
  const cli = [join(ROOT, "src", "cli", "main.ts"), "run", file, "-q", "-o", join(dir, "cli-run")];
  const p = spawn(process.execPath, ["--import", "tsx", ...cli], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  const code = await new Promise((ok) => p.on("close", ok));
  assert.equal(code, 2, err);
  assert.match(err, /crossmon: error: hosted fine-tuning of base-model .* pass --yes to start it/);
  assert.equal(api.jobs.size, jobs + 2);
});
