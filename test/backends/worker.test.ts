/**
 * The GPU worker's protocol (python/worker.py), where torch, transformers and peft import; skipped elsewhere.
 * Logits of the fixture checkpoints match crossmon's engine; scoring agrees; LoRA training runs on crossmon's batches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { WorkerBackend, workerAvailable } from "../../src/backends/worker.js";
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { scoreNextTokens } from "../../src/engine/score.js";
import { padBatch } from "../../src/engine/sequences.js";
import { generate } from "../../src/engine/generate.js";
import { readHeader, readSafetensors } from "../../src/engine/io/safetensors.js";
import { LocalBackend } from "../../src/backends/local.js";
import { parseTrainSpec } from "../../src/train/spec.js";
import { toyBase } from "../train/toy-base.js";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { runExperiment } from "../../src/experiments/runner.js";
import { writeReport } from "../../src/report/report.js";
import { tinySpec } from "../experiments/tiny-spec.js";
import { tmpdir } from "node:os";

const avail = workerAvailable();
const skip = avail.ok ? false : `GPU worker not testable here: ${avail.reason}`;
if (!avail.ok) console.log(`# skipped: ${avail.reason}`);

test("worker: logits and scores equal the engine's on the fixture checkpoints", { skip }, async () => {
  const w = new WorkerBackend();
  try {
    for (const name of ["tiny-llama", "tiny-qwen2-sharded", "tiny-qwen3"]) {
      const dir = join(import.meta.dirname, "..", "fixtures", name);
      const seqs = [
        [3, 17, 42, 8, 0, 25, 61],
        [5, 9, 33, 2],
      ];
      const theirs = await w.logits({ base: dir }, seqs);
      const model = loadModel(dir);
      const batch = padBatch(seqs);
      seqs.forEach((s, b) => {
        const { logits } = model.forward(batch, Int32Array.from(s.map((_, t) => b * batch.T + t)));
        theirs[b].flat().forEach((x, i) => assert.ok(Math.abs(x - logits[i]) < 1e-4, `${name}`));
      });
      const a = await w.score(
        { base: dir },
        seqs.map((ids) => ({ ids })),
        [
          { id: 4, text: "" },
          { id: 9, text: "" },
        ],
      );
      const b = scoreNextTokens(model, seqs, [4, 9]);
      a.flat().forEach((x, i) => assert.ok(Math.abs(x - b.flat()[i]) < 1e-4));
    }
    // only the last model stays loaded (a GPU would otherwise hold every base model and adapter scored so far)
    assert.equal((await w.call("hello", {})).models_loaded, 1);
  } finally {
    w.close();
  }
});

test("worker: greedy generation gives the engine's tokens", { skip }, async () => {
  const w = new WorkerBackend();
  try {
    const dir = join(import.meta.dirname, "..", "fixtures", "tiny-qwen3");
    const prompt = [3, 17, 42, 8];
    const [theirs] = await w.generate({ base: dir }, [{ prompt, maxNewTokens: 12, temperature: 0, seed: 0 }]);
    const ours = generate(loadModel(dir), prompt, { maxNewTokens: 12, temperature: 0, seed: 0, stopTokenIds: [] });
    assert.deepEqual(theirs.ids.slice(0, ours.ids.length), ours.ids);
    assert.ok(theirs.ids.length > 0);
  } finally {
    w.close();
  }
});

test("worker: LoRA training on crossmon's batches and schedule; the adapter scores the same in the engine; stages continue", {
  skip,
}, async () => {
  const base = toyBase();
  const dir = mkdtempSync(join(tmpdir(), "crossmon-worker-"));
  const spec = parseTrainSpec({
    base_model: base,
    seed: 2,
    method: "lora",
    lora: { rank: 4, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj"] },
    hyper: { lr: 0.02, batch_size: 4, micro_batch: 4, epochs: 3, max_tokens: 256, warmup: 0.2 },
    data: { world: { seed: 0, size: 60 }, instruction_pool: 100 },
    stages: [
      { name: "cls", mixture: { classification: [{ task: "cyber_harm", examples: 12 }] } },
      { name: "if", epochs: 1, mixture: { instruction: { examples: 4 } } },
    ],
  });
  const w = new WorkerBackend();
  try {
    const ref = await w.train(spec, dir);
    const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { loss: number; lr: number; stage: string });
    const cls = metrics.filter((m) => m.stage === "cls");
    assert.equal(cls.length, 9, "12 examples × 3 epochs / batch 4");
    assert.ok(cls.at(-1)!.loss < cls[0].loss, `loss falls: ${cls.map((m) => m.loss.toFixed(3)).join(" ")}`);
    assert.ok(cls[0].lr < 0.02 && Math.max(...cls.map((m) => m.lr)) === 0.02, "warmup then the peak rate");
    // the adapter the worker wrote scores the same in crossmon's engine
    const seqs = [
      [5, 9, 33, 2, 40],
      [3, 17, 42, 8, 0, 25, 61],
    ];
    const cands = [
      { id: 4, text: "" },
      { id: 9, text: "" },
    ];
    const theirs = await w.score(
      ref,
      seqs.map((ids) => ({ ids })),
      cands,
    );
    const ours = await new LocalBackend().score(
      ref,
      seqs.map((ids) => ({ ids })),
      cands,
    );
    theirs.flat().forEach((x, i) => assert.ok(Math.abs(x - ours.flat()[i]) < 1e-4, `${x} vs ${ours.flat()[i]}`));
    const untrained = await new LocalBackend().score(
      { base },
      seqs.map((ids) => ({ ids })),
      cands,
    );
    assert.ok(
      untrained.flat().some((x, i) => Math.abs(x - ours.flat()[i]) > 1e-3),
      "training changed the scores",
    );
    // a stage continues from the previous adapter: at learning rate 0 it writes that adapter back unchanged
    const stage1 = join(dir, "adapter-1");
    const seq = { ids: [1, 2, 3, 4, 5, 6], weights: [0, 0, 0, 0, 0, 1] };
    await w.call("train", {
      model: { base },
      lora: { r: 4, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj"] },
      batches: [[seq], [seq]],
      lrs: [0, 0],
      init_adapter: stage1,
      out: join(dir, "again"),
    });
    const a = readSafetensors(join(stage1, "adapter_model.safetensors"));
    const b = readSafetensors(join(dir, "again", "adapter_model.safetensors"));
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [k, t] of a) assert.deepEqual(Array.from(b.get(k)!.data), Array.from(t.data), k);
  } finally {
    w.close();
  }
});

test("worker: one base model stays loaded while adapters are swapped over it; every score is the engine's", {
  skip,
}, async () => {
  const base = toyBase();
  const dir = mkdtempSync(join(tmpdir(), "crossmon-worker-swap-"));
  const seqs = [
    [5, 9, 33, 2, 40],
    [3, 17, 42, 8, 0, 25, 61],
  ];
  const cands = [
    { id: 4, text: "" },
    { id: 9, text: "" },
  ];
  const seq = { ids: [1, 2, 3, 4, 5, 6], weights: [0, 0, 0, 0, 1, 1] };
  const w = new WorkerBackend();
  try {
    // two adapters of different ranks and targets, trained by the worker on the base it keeps loaded
    const lora = (r: number, targets: string[]) => ({ r, alpha: 2 * r, dropout: 0, targets });
    await w.call("train", {
      model: { base },
      lora: lora(4, ["q_proj", "v_proj"]),
      batches: [[seq], [seq], [seq]],
      lrs: [0.05, 0.05, 0.05],
      seed: 1,
      out: join(dir, "a1"),
    });
    await w.call("train", {
      model: { base },
      lora: lora(2, ["o_proj", "down_proj"]),
      batches: [[seq], [seq], [seq]],
      lrs: [0.05, 0.05, 0.05],
      seed: 2,
      out: join(dir, "a2"),
    });
    const refs = [
      { base },
      { base, adapter: join(dir, "a1") },
      { base, adapter: join(dir, "a2") },
      { base, adapter: join(dir, "a1") },
      { base },
    ];
    const engine = new LocalBackend();
    const scores: number[][][] = [];
    for (const ref of refs) {
      const theirs = await w.score(
        ref,
        seqs.map((ids) => ({ ids })),
        cands,
      );
      const ours = await engine.score(
        ref,
        seqs.map((ids) => ({ ids })),
        cands,
      );
      theirs
        .flat()
        .forEach((x, i) =>
          assert.ok(Math.abs(x - ours.flat()[i]) < 1e-4, `${ref.adapter ?? "base"}: ${x} vs ${ours.flat()[i]}`),
        );
      scores.push(theirs);
    }
    // the swaps mattered: each adapter scores differently from the base and from the other
    const differ = (a: number[][], b: number[][]) => a.flat().some((x, i) => Math.abs(x - b.flat()[i]) > 1e-3);
    assert.ok(differ(scores[0], scores[1]) && differ(scores[0], scores[2]) && differ(scores[1], scores[2]));
    const hello = await w.call("hello", {});
    assert.equal(hello.base_loads, 1, "the base model was read from disk once, for training and every score");
    assert.equal(hello.adapter_loads, 3);
    assert.equal(hello.models_loaded, 1);
  } finally {
    w.close();
  }
});

test("worker: an experiment runs end to end on it (training, single-token, thinking and summary scoring, report)", {
  skip,
}, async () => {
  const base = toyBase();
  const dir = mkdtempSync(join(tmpdir(), "crossmon-worker-run-"));
  const spec = tinySpec(base, {
    experiments: {
      transfer: { sources: { chem: ["chem_harm"] }, eval_tasks: ["agent_dangerous"], leave_one_out: false },
      format_transfer: { source: ["cyber_harm"], eval_tasks: ["agent_dangerous"] },
    },
  });
  const w = new WorkerBackend(undefined, (ids) => HfTokenizer.load(base).decode(ids, true));
  try {
    const run = await runExperiment(spec, dir, { quiet: true, log: () => {}, backend: w });
    const r = await writeReport(run);
    run.store.close();
    const res = JSON.parse(readFileSync(r.json, "utf8"));
    assert.match(res.transfer.finding, /agent_dangerous/);
    assert.match(res.format_transfer.finding, /thinking classification/);
    // the training cells ran on the worker (its metrics say so)
    const metrics = readFileSync(join(dir, "train", readdirSync(join(dir, "train"))[0], "metrics.jsonl"), "utf8");
    assert.match(metrics, /"backend":"torch-worker"/);
  } finally {
    w.close();
  }
});

test("worker: CROSSMON_WORKER_DTYPE=bfloat16 keeps the base in bfloat16 (scores near float32's) and adapters in float32; a bad value is refused with the reason", {
  skip,
}, async () => {
  const dir = join(import.meta.dirname, "..", "fixtures", "tiny-llama");
  const seqs = [
    [3, 17, 42, 8, 0, 25, 61],
    [5, 9, 33, 2],
  ];
  const cands = [
    { id: 4, text: "" },
    { id: 9, text: "" },
  ];
  const withDtype = (v: string) => {
    const was = process.env.CROSSMON_WORKER_DTYPE;
    process.env.CROSSMON_WORKER_DTYPE = v; // the worker reads it when it starts
    try {
      return new WorkerBackend();
    } finally {
      if (was === undefined) delete process.env.CROSSMON_WORKER_DTYPE;
      else process.env.CROSSMON_WORKER_DTYPE = was;
    }
  };
  const w32 = withDtype("float32"),
    w16 = withDtype("bfloat16");
  try {
    assert.equal((await w16.call("hello", {})).dtype, "bfloat16");
    const a = (
      await w32.score(
        { base: dir },
        seqs.map((ids) => ({ ids })),
        cands,
      )
    ).flat();
    const b = (
      await w16.score(
        { base: dir },
        seqs.map((ids) => ({ ids })),
        cands,
      )
    ).flat();
    // bfloat16 keeps 8 bits of mantissa: close to float32, but not equal
    b.forEach((x, i) => assert.ok(Math.abs(x - a[i]) < 0.5 && x !== a[i], `${x} vs ${a[i]}`));
    const out = join(mkdtempSync(join(tmpdir(), "crossmon-bf16-")), "adapter");
    const seq = { ids: [1, 2, 3, 4, 5, 6], weights: [0, 0, 0, 0, 0, 1] };
    const r = await w16.call("train", {
      model: { base: dir },
      lora: { r: 4, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj"] },
      batches: Array(5).fill([seq]),
      lr: 0.01,
      out,
    });
    const losses = r.losses as number[];
    assert.ok(losses.at(-1)! < losses[0], losses.join(" "));
    for (const [name, t] of Object.entries(readHeader(join(out, "adapter_model.safetensors")).tensors))
      assert.equal(t.dtype, "F32", name);
  } finally {
    w32.close();
    w16.close();
  }
  const bad = withDtype("fp8");
  await assert.rejects(
    bad.call("hello", {}),
    /CROSSMON_WORKER_DTYPE must be one of float32, bfloat16, float16 \(got 'fp8'\)/,
  );
});
