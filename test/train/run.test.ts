/** Training runs: bad specs fail before any work; a killed run resumes to the same weights; the pretrain recipe. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { parseTrainSpec } from "../../src/train/spec.js";
import { runTraining } from "../../src/train/run.js";
import { readSafetensors } from "../../src/engine/io/safetensors.js";
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { toyBase } from "./toy-base.js";
import { pretrain, TOY_RECIPE } from "../../src/train/pretrain/index.js";
import { nativeKernels } from "../../src/engine/kernels/index.js";

const ROOT = join(import.meta.dirname, "..", "..");
const base = toyBase();
const specOf = (over: Record<string, unknown> = {}) => ({
  base_model: base,
  seed: 3,
  method: "lora",
  lora: { rank: 4, alpha: 8, dropout: 0.1, targets: ["q_proj", "v_proj", "down_proj"] },
  hyper: { lr: 0.01, batch_size: 4, micro_batch: 2, epochs: 1, checkpoint_every: 2, max_tokens: 256, threads: 1 },
  data: { world: { seed: 0, size: 60 }, instruction_pool: 200 },
  stages: [
    {
      name: "cls",
      mixture: {
        classification: [
          { task: "cyber_harm", examples: 16 },
          { task: "chem_harm", examples: 8 },
        ],
        instruction: { examples: 4 },
      },
    },
    { name: "if", mixture: { instruction: { examples: 8 } } },
  ],
  ...over,
});

test("bad specs are refused before any work, naming the field", async () => {
  const threads = nativeKernels()?.info().threads;
  const dir = mkdtempSync(join(tmpdir(), "crossmon-run-"));
  const run = (over: Record<string, unknown>) =>
    runTraining(parseTrainSpec(specOf(over)), join(dir, "r"), { quiet: true, log: () => {} });
  await assert.rejects(run({ base_model: join(dir, "nope") }), /nope: no such model folder/);
  await assert.rejects(
    run({ stages: [{ name: "x", mixture: { classification: [{ task: "not_a_task", examples: 2 }] } }] }),
    /unknown task "not_a_task"/,
  );
  await assert.rejects(
    run({ lora: { rank: 4, alpha: 8, dropout: 0, targets: ["c_attn"] } }),
    /LoRA target "c_attn" is not a module/,
  );
  assert.throws(
    () => parseTrainSpec(specOf({ stages: [{ name: "x", mixture: { instruction: { share: 1.5, by: "tokens" } } }] })),
    /field "stages\.0\.mixture\.instruction\.share": the share must be below 1/,
  );
  assert.throws(() => parseTrainSpec(specOf({ hyper: { lr: -1 } })), /field "hyper\.lr"/);
  // strict everywhere: a key crossmon does not know is an error, not silently ignored
  assert.throws(
    () =>
      parseTrainSpec(
        specOf({
          stages: [{ name: "x", mixture: { classification: [{ task: "cyber_harm", examples: 2, weight: 2 }] } }],
        }),
      ),
    /field "stages\.0\.mixture\.classification\.0": Unrecognized key: "weight"/,
  );
  assert.throws(() => parseTrainSpec(specOf({ mystery: 1 })), /field "\(root\)": Unrecognized key/);
  assert.ok(!existsSync(join(dir, "r")), "nothing was written");
  assert.equal(
    nativeKernels()?.info().threads,
    threads,
    "the spec's thread count (1) held for its training only, refused or not",
  );
});

test("a two-stage LoRA run writes a PEFT adapter, the resolved spec, metrics and the dilution as trained", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "crossmon-run-")), "r");
  const r = await runTraining(parseTrainSpec(specOf()), dir, { quiet: true, log: () => {} });
  assert.ok(
    existsSync(join(r.output, "adapter_config.json")) && existsSync(join(r.output, "adapter_model.safetensors")),
  );
  assert.ok(existsSync(join(dir, "spec.resolved.yaml")));
  const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(
    metrics.length,
    r.stages.reduce((s, x) => s + x.steps, 0),
  );
  assert.deepEqual([...new Set(metrics.map((m) => m.stage))], ["cls", "if"]);
  for (const m of metrics) assert.ok(Number.isFinite(m.loss) && m.lr > 0 && m.tokens_per_s > 0);
  const d = JSON.parse(readFileSync(join(dir, "dilution.json"), "utf8"));
  assert.deepEqual(d[0].dilution.map((x: { source: string; examples: number }) => [x.source, x.examples]).sort(), [
    ["classification", 24],
    ["instruction", 4],
  ]);
  assert.deepEqual(
    d[1].dilution.map((x: { source: string }) => x.source),
    ["instruction"],
  );
});

test("a spec may name its base model by hub id: the same training as from the folder, the id in the adapter", async () => {
  // a Hugging Face cache holding the toy base as acme/toy (files copied, as a cache on a file system without links)
  const cache = mkdtempSync(join(tmpdir(), "crossmon-hfcache-"));
  const sha = "a".repeat(40);
  cpSync(base, join(cache, "models--acme--toy", "snapshots", sha), { recursive: true });
  mkdirSync(join(cache, "models--acme--toy", "refs"));
  writeFileSync(join(cache, "models--acme--toy", "refs", "main"), sha);
  const before = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = cache;
  try {
    const one = (over: Record<string, unknown>) =>
      runTraining(
        parseTrainSpec(specOf({ ...over, stages: specOf().stages.slice(0, 1) })),
        join(cache, `r${Math.random()}`),
        {
          quiet: true,
          log: () => {},
        },
      );
    const byId = await one({ base_model: "acme/toy" });
    const byFolder = await one({});
    const cfg = JSON.parse(readFileSync(join(byId.output, "adapter_config.json"), "utf8"));
    assert.equal(cfg.base_model_name_or_path, "acme/toy");
    const a = readSafetensors(join(byId.output, "adapter_model.safetensors"));
    const b = readSafetensors(join(byFolder.output, "adapter_model.safetensors"));
    for (const [n, t] of a) assert.deepEqual(t.data, b.get(n)?.data, n);
  } finally {
    if (before === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = before;
  }
});

test("a run folder resumes only the same training: another spec or new base weights are refused, naming the file", async () => {
  const root = mkdtempSync(join(tmpdir(), "crossmon-same-"));
  const copy = join(root, "base");
  cpSync(base, copy, { recursive: true, filter: (f) => !f.includes("work") });
  const small = {
    base_model: copy,
    stages: [{ name: "cls", mixture: { classification: [{ task: "cyber_harm", examples: 4 }] } }],
  };
  const dir = join(root, "r");
  const run = (over: Record<string, unknown> = {}) =>
    runTraining(parseTrainSpec(specOf({ ...small, ...over })), dir, { quiet: true, log: () => {} });
  await run();
  await run(); // the same spec and base: finished stages are loaded, nothing refused
  await assert.rejects(
    run({ hyper: { ...specOf().hyper, lr: 0.02 } }),
    (e: Error) => /another spec/.test(e.message) && e.message.includes(join(dir, "spec.resolved.yaml")),
  );
  const w = readFileSync(join(copy, "model.safetensors"));
  w[w.length - 2] ^= 1;
  writeFileSync(join(copy, "model.safetensors"), w);
  await assert.rejects(
    run(),
    (e: Error) => /base model's files changed/.test(e.message) && e.message.includes(join(dir, "base.json")),
  );
});

test("killed part way (kill -9), the same command resumes and reaches the weights of an uninterrupted run", async () => {
  const root = mkdtempSync(join(tmpdir(), "crossmon-kill-"));
  const specFile = join(root, "spec.yaml");
  // 40 items × 5 epochs / batch 4 = 50 steps, a checkpoint every 2: the kill lands well before the end
  writeFileSync(
    specFile,
    YAML.stringify(
      specOf({
        stages: [
          {
            name: "cls",
            epochs: 5,
            mixture: { classification: [{ task: "cyber_harm", examples: 32 }], instruction: { examples: 8 } },
          },
        ],
      }),
    ),
  );
  const cli = ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "train", specFile, "-q", "-o"];
  const env = { ...process.env, CROSSMON_THREADS: "1" };
  const whole = spawnSync(process.execPath, [...cli, join(root, "whole")], { cwd: ROOT, env, encoding: "utf8" });
  assert.equal(whole.status, 0, whole.stderr);
  // start again elsewhere, kill -9 once a checkpoint exists, then run the same command to the end
  const killed = join(root, "killed");
  const child = spawn(process.execPath, [...cli, killed], { cwd: ROOT, env, stdio: "ignore" });
  const ckpt = join(killed, "stages", "1-cls", "checkpoint", "state.json");
  const t0 = Date.now();
  while (!existsSync(ckpt) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 5));
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  const state = JSON.parse(readFileSync(ckpt, "utf8"));
  assert.ok(state.step >= 2 && state.step < 50, `killed at step ${state.step} of 50`);
  const resumed = spawnSync(process.execPath, [...cli, killed], { cwd: ROOT, env, encoding: "utf8" });
  assert.equal(resumed.status, 0, resumed.stderr);
  const a = readSafetensors(join(root, "whole", "adapter", "adapter_model.safetensors"));
  const b = readSafetensors(join(killed, "adapter", "adapter_model.safetensors"));
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [k, t] of a) assert.deepEqual(b.get(k)!.data, t.data, k);
  const steps = readFileSync(join(killed, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [...Array(50).keys()], "each step logged once");
});

test("the pretraining recipe at toy size: tokenizer with a chat template, a model that loads, a training curve", () => {
  const m = loadModel(base);
  assert.equal(m.config.architecture, "LlamaForCausalLM");
  const curve = readFileSync(join(base, "training_curve.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    curve.map((c) => c.phase),
    ["pretrain", "pretrain", "pretrain", "instruct", "instruct", "reading", "reading"],
  );
  const recipe = JSON.parse(readFileSync(join(base, "recipe.json"), "utf8"));
  assert.equal(recipe.steps, 3);
  assert.ok(recipe.corpus_tokens > 1000);
  assert.ok(recipe.training_seconds >= 0 && recipe.tokens_seen > 0);
  const cfg = JSON.parse(readFileSync(join(base, "tokenizer_config.json"), "utf8"));
  assert.match(cfg.chat_template, /im_start/);
});

test("the pretraining recipe reproduces its model on the same engine: a second run writes the same tokenizer and weights, byte for byte", () => {
  const again = join(mkdtempSync(join(tmpdir(), "crossmon-again-")), "base");
  pretrain({ out: again, ...TOY_RECIPE, quiet: true });
  for (const f of ["tokenizer.json", "tokenizer_config.json", "config.json", "model.safetensors"]) {
    assert.ok(readFileSync(join(again, f)).equals(readFileSync(join(base, f))), f);
  }
  // the recipe says what else the weights depend on
  const engine = JSON.parse(readFileSync(join(again, "recipe.json"), "utf8")).engine;
  const info = nativeKernels()?.info();
  assert.deepEqual(
    engine,
    info
      ? { kernels: "native", threads: info.threads, gemm: info.gemm, gemm_plan: info.gemmPlan, simd: info.simd }
      : { kernels: "reference" },
  );
});

test("a phase switched off leaves the others their own folders: phase 3 stays work/phase3 without phase 2", () => {
  const out = join(mkdtempSync(join(tmpdir(), "crossmon-phases-")), "base");
  pretrain({ out, ...TOY_RECIPE, instructSteps: 0, quiet: true });
  assert.deepEqual(
    readdirSync(join(out, "work"))
      .filter((f) => f.startsWith("phase"))
      .sort(),
    ["phase1", "phase3"],
  );
  const curve = readFileSync(join(out, "training_curve.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).phase);
  assert.deepEqual(curve, ["pretrain", "pretrain", "pretrain", "reading", "reading"]);
});

test("a folder whose corpus was built with reference documents (0.2.0's --knowledge) is not resumed without them", () => {
  const out = join(mkdtempSync(join(tmpdir(), "crossmon-knowledge-")), "base");
  cpSync(base, out, { recursive: true });
  // as 0.2.0 left it: the corpus' summary counts the documents; a rebuild from phase 1 would reuse the stored corpus
  const info = join(out, "work", "corpus.json");
  writeFileSync(info, JSON.stringify({ ...JSON.parse(readFileSync(info, "utf8")), knowledge_documents: 40 }));
  for (const p of ["phase1", "phase2", "phase3"]) rmSync(join(out, "work", p), { recursive: true, force: true });
  assert.throws(
    () => pretrain({ out, ...TOY_RECIPE, quiet: true }),
    (e: Error) =>
      /built with 40 reference documents, which the recipe no longer adds/.test(e.message) &&
      e.message.includes(join(out, "work", "corpus.bin")),
  );
});

test("numeric options are checked: a bad value names its flag and exits 2 before any work", () => {
  const out = join(mkdtempSync(join(tmpdir(), "crossmon-opt-")), "base");
  for (const [flag, value, expect] of [
    ["--reading-thinking-share", "1.5", /--reading-thinking-share must be a number between 0 and 1 \(got "1.5"\)/],
    ["--steps", "ten", /--steps must be an integer of at least 1 \(got "ten"\)/],
  ] as const) {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "pretrain", "-o", out, "-q", flag, value],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, expect);
    assert.ok(!existsSync(out), "nothing written");
  }
});
