/** The engine's behaviour: generation, scoring, LoRA merge and PEFT files, training and its determinism. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { loadAdapter, saveAdapter } from "../../src/engine/io/peft.js";
import { readSafetensors } from "../../src/engine/io/safetensors.js";
import { addLora, mergeLora } from "../../src/engine/lora.js";
import { generate, pickToken } from "../../src/engine/generate.js";
import { nextTokenLogprobs, scoreNextTokens } from "../../src/engine/score.js";
import { padBatch, type WeightedSequence } from "../../src/engine/sequences.js";
import { AdamW, learningRate } from "../../src/engine/optim.js";
import { forwardBackward, trainStep, evaluateLoss } from "../../src/engine/train-step.js";
import { setTrainable } from "../../src/engine/params.js";
import { Rng } from "../../src/core/random.js";
import { nativeKernels } from "../../src/engine/kernels/index.js";
import { assertClose, randomArray } from "../helpers.js";
import { tinyModel } from "./tiny.js";

const FIX = join(import.meta.dirname, "..", "fixtures");

// sliding windows (3, 4) shorter than the 16 positions generated here, so the cached path must apply them too
for (const name of ["tiny-qwen3", "tiny-mistral", "tiny-gemma2", "tiny-gemma3", "tiny-phi3", "tiny-olmo2"])
  test(`KV-cache generation equals full recomputation at every step: ${name}`, () => {
    const model = loadModel(join(FIX, name));
    const prompt = [3, 17, 42, 8];
    const steps: Float32Array[] = [];
    const gen = generate(model, prompt, { maxNewTokens: 12, stopTokenIds: [], onToken: (_, lp) => steps.push(lp) });
    assert.equal(gen.ids.length, 12);
    assert.equal(gen.finishReason, "length");
    const seq = [...prompt];
    for (let i = 0; i < gen.ids.length; i++) {
      const [full] = nextTokenLogprobs(model, [seq]);
      assertClose(steps[i], full, 1e-4, `step ${i}`);
      let best = 0;
      for (let j = 1; j < full.length; j++) if (full[j] > full[best]) best = j;
      assert.equal(gen.ids[i], best, `greedy token at step ${i}`);
      seq.push(gen.ids[i]);
    }
  });

// The top layer computes its queries and output at the rows asked for alone where they are at most half of the batch's
// rows; asking for every row takes the whole-layer path. Both must give the same logits, with padding and windows.
for (const name of ["tiny-qwen3", "tiny-mistral", "tiny-gemma2", "tiny-olmo2", "tiny-llama"])
  test(`logits at a few rows equal those of a forward over every row: ${name}`, () => {
    const model = loadModel(join(FIX, name));
    const seqs = [
      [3, 17, 42, 8, 5, 9, 11, 2, 30, 7],
      [4, 8, 15, 16, 23, 42],
    ];
    const batch = padBatch(seqs);
    const every = Int32Array.from({ length: batch.B * batch.T }, (_, i) => i);
    const all = model.forward(batch, every).logits;
    const asked = Int32Array.from([9, 2, batch.T + 5, batch.T]); // out of order, both sequences, first positions too
    const few = model.forward(batch, asked).logits;
    const V = model.config.vocabSize;
    asked.forEach((row, r) =>
      assertClose(few.subarray(r * V, (r + 1) * V), all.subarray(row * V, (row + 1) * V), 1e-4, `row ${row}`),
    );
    assert.throws(() => model.forward(batch, Int32Array.from([every.length])), /row 20 asked for is outside/);
  });

test("sampling is seeded; top-p keeps the nucleus; stop tokens and stop strings end generation", () => {
  const model = loadModel(join(FIX, "tiny-llama"));
  const a = generate(model, [1, 2, 3], { maxNewTokens: 10, temperature: 1, topP: 0.9, seed: 7, stopTokenIds: [] });
  const b = generate(model, [1, 2, 3], { maxNewTokens: 10, temperature: 1, topP: 0.9, seed: 7, stopTokenIds: [] });
  const c = generate(model, [1, 2, 3], { maxNewTokens: 10, temperature: 1, topP: 0.9, seed: 8, stopTokenIds: [] });
  assert.deepEqual(a.ids, b.ids);
  assert.notDeepEqual(a.ids, c.ids);
  // top-p: with one token holding 95% of the mass and p = 0.9, only it can be drawn
  const logits = Float32Array.from([Math.log(0.95), Math.log(0.03), Math.log(0.02)]);
  const rng = new Rng(1);
  for (let i = 0; i < 200; i++) assert.equal(pickToken(logits, 1, 0.9, rng), 0);
  const counts = [0, 0, 0];
  for (let i = 0; i < 2000; i++) counts[pickToken(logits, 1, 1, rng)]++;
  assert.ok(counts[1] > 20 && counts[2] > 10, `full sampling reaches the tail: ${counts}`);
  const stopAt = a.ids[3];
  const s = generate(model, [1, 2, 3], {
    maxNewTokens: 10,
    temperature: 1,
    topP: 0.9,
    seed: 7,
    stopTokenIds: [stopAt],
  });
  assert.equal(s.finishReason, "stop");
  assert.deepEqual(s.ids, a.ids.slice(0, a.ids.indexOf(stopAt)));
  const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join("");
  const full = decode(a.ids);
  const str = generate(model, [1, 2, 3], {
    maxNewTokens: 10,
    temperature: 1,
    topP: 0.9,
    seed: 7,
    stopTokenIds: [],
    stopStrings: [full.slice(4, 6)],
    decode,
  });
  assert.equal(str.finishReason, "stop");
  assert.equal(str.text, full.slice(0, full.indexOf(full.slice(4, 6))));
});

test("batched scoring equals one-at-a-time scoring, whatever the padding", () => {
  const model = loadModel(join(FIX, "tiny-qwen2-sharded"));
  const prompts = [
    [3, 17, 42, 8, 0, 25, 61],
    [5, 9],
    [7, 7, 7, 7, 1],
  ];
  const batched = scoreNextTokens(model, prompts, [4, 9], 8);
  prompts.forEach((p, i) => assertClose(scoreNextTokens(model, [p], [4, 9], 1)[0], batched[i], 1e-5, `prompt ${i}`));
});

test("merged LoRA equals unmerged; PEFT files round trip exactly and name tensors as PEFT does", () => {
  const model = loadModel(join(FIX, "tiny-qwen3"));
  addLora(model, {
    rank: 4,
    alpha: 8,
    dropout: 0.1,
    targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    seed: 3,
  });
  for (const l of model.linears()) l.lora!.B.data.set(randomArray(l.lora!.B.data.length, 9, 0.2));
  const batch = padBatch([
    [3, 17, 42, 8, 0],
    [5, 9, 33],
  ]);
  const rows = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  const withAdapter = model.forward(batch, rows).logits;
  const base = loadModel(join(FIX, "tiny-qwen3")).forward(batch, rows).logits;
  assert.ok(Math.max(...withAdapter.map((x, i) => Math.abs(x - base[i]))) > 1e-3, "the adapter changes the logits");

  const dir = mkdtempSync(join(tmpdir(), "crossmon-peft-"));
  saveAdapter(model, dir, "tiny-qwen3");
  const cfg = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
  assert.equal(cfg.peft_type, "LORA");
  assert.equal(cfg.r, 4);
  assert.equal(cfg.lora_alpha, 8);
  assert.deepEqual(cfg.target_modules, ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
  const names = [...readSafetensors(join(dir, "adapter_model.safetensors")).keys()];
  assert.ok(names.includes("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
  assert.ok(names.includes("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));

  const reloaded = loadModel(join(FIX, "tiny-qwen3"));
  loadAdapter(reloaded, dir);
  assert.deepEqual(reloaded.forward(batch, rows).logits, withAdapter);

  mergeLora(reloaded);
  assert.ok(reloaded.linears().every((l) => !l.lora));
  assertClose(reloaded.forward(batch, rows).logits, withAdapter, 1e-4, "merged vs unmerged");
  rmSync(dir, { recursive: true });
});

test("a bad LoRA target is refused before any work", () => {
  const model = loadModel(join(FIX, "tiny-llama"));
  assert.throws(
    () => addLora(model, { rank: 2, alpha: 4, dropout: 0, targets: ["c_attn"] }),
    /LoRA target "c_attn" is not a module of this model/,
  );
});

/** A learnable toy task: the token after a "question" token is the question's parity, with loss on it only. */
function toyData(n: number, seed: number): WeightedSequence[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const x = 10 + rng.int(20);
    const filler = Array.from({ length: 3 + rng.int(4) }, () => 2 + rng.int(8));
    return { ids: [...filler, x, x % 2 === 0 ? 30 : 31], weights: [...filler.map(() => 0), 0, 1] };
  });
}

test("training: loss falls on a learnable task (full fine-tuning and LoRA)", () => {
  for (const mode of ["full", "lora"] as const) {
    const model = tinyModel("LlamaForCausalLM", 2, undefined, { vocab_size: 40 });
    // Full fine-tuning starts from a small init; LoRA needs a base whose frozen embeddings are large enough to
    // express a confident answer (at d = 16 the frozen final norm caps the logit margin).
    model.initRandom(2, mode === "full" ? 0.02 : 0.3);
    if (mode === "full") for (const p of model.params.values()) setTrainable(p, true);
    else addLora(model, { rank: 8, alpha: 16, dropout: 0, targets: ["all-linear"], seed: 1 });
    const opt = new AdamW(model.k, model.trainableParams(), { weightDecay: 0.01 });
    const train = toyData(64, 1),
      held = toyData(64, 2);
    const before = evaluateLoss(model, held);
    for (let step = 0; step < 150; step++) {
      const batch = train.slice((step * 16) % 64, ((step * 16) % 64) + 16);
      trainStep(model, opt, [batch.slice(0, 8), batch.slice(8)], mode === "full" ? 3e-3 : 1e-2, 1);
    }
    const after = evaluateLoss(model, held);
    const trainLoss = evaluateLoss(model, train);
    if (mode === "full") assert.ok(after < 0.35, `full: held-out loss ${before.toFixed(3)} → ${after.toFixed(3)}`);
    else {
      // below ln 2: better than a coin flip between the two answers, so the parity was learned, not just the format
      assert.ok(trainLoss < Math.log(2), `lora: training loss ${trainLoss.toFixed(3)}`);
      assert.ok(after < before * 0.75, `lora: held-out loss ${before.toFixed(3)} → ${after.toFixed(3)}`);
    }
  }
});

test("gradient accumulation over micro-batches equals one large batch", () => {
  const seqs = toyData(8, 3);
  const grads = [[seqs], [seqs.slice(0, 3), seqs.slice(3, 5), seqs.slice(5)]].map((mbs) => {
    const m = tinyModel("Qwen2ForCausalLM", 4, undefined, { vocab_size: 40 });
    for (const p of m.params.values()) setTrainable(p, true);
    const norm = mbs.flat().reduce((s, q) => s + Array.from(q.weights).reduce((a, b) => a + b, 0), 0);
    for (const mb of mbs) forwardBackward(m, mb, norm);
    return m.trainableParams().map((p) => p.grad!);
  });
  grads[0].forEach((g, i) => assertClose(grads[1][i], g, 1e-6, `param ${i}`));
});

test("training is deterministic: same seed and data give bit-identical weights, on one thread and on two", () => {
  const native = nativeKernels();
  // wide: big enough that GEMMs, attention and the row-wise kernels are split into several pool tasks
  const wide = { vocab_size: 64, hidden_size: 128, intermediate_size: 256, head_dim: 32 };
  const run = (threads: number, over: Record<string, unknown> = { vocab_size: 40 }) => {
    native?.setThreads(threads);
    const model = tinyModel("Qwen3ForCausalLM", 5, undefined, over);
    addLora(model, { rank: 4, alpha: 8, dropout: 0.1, targets: ["q_proj", "v_proj"], seed: 2 });
    model.rng = new Rng(11);
    const opt = new AdamW(model.k, model.trainableParams(), { weightDecay: 0.1 });
    const data =
      over === wide
        ? toyData(16, 4).map((q) => ({
            ids: [...Array.from({ length: 60 }, (_, i) => 2 + ((i * 7) % 50)), ...Array.from(q.ids)],
            weights: [...Array(60).fill(0), ...Array.from(q.weights)],
          }))
        : toyData(16, 4);
    for (let s = 0; s < 5; s++)
      trainStep(
        model,
        opt,
        [data.slice(0, 8), data.slice(8)],
        learningRate(1e-2, s, { warmupSteps: 2, totalSteps: 5, kind: "cosine" }),
        1,
      );
    return model.trainableParams().map((p) => p.data.slice());
  };
  const same = (a: Float32Array[], b: Float32Array[], what: string) =>
    a.forEach((x, i) => assert.deepEqual(b[i], x, what));
  try {
    for (const threads of [1, 2]) {
      same(run(threads), run(threads), `${threads} thread(s)`);
      same(run(threads, wide), run(threads, wide), `${threads} thread(s), wide`);
    }
    // the pool splits work by its size, never by the thread count: with crossmon's own GEMM, 1 and 2 threads agree
    native?.setGemmBackend(1);
    same(run(1, wide), run(2, wide), "1 against 2 threads, wide");
  } finally {
    native?.setGemmBackend(0);
    native?.setThreads(2);
  }
});

test("learning-rate schedule: warm-up, cosine and linear decay", () => {
  const s = { warmupSteps: 10, totalSteps: 110, kind: "cosine" as const, minRatio: 0.1 };
  assert.equal(learningRate(1, 0, s), 0.1);
  assert.equal(learningRate(1, 9, s), 1);
  assert.ok(Math.abs(learningRate(1, 10, s) - 1) < 1e-12);
  assert.ok(Math.abs(learningRate(1, 60, s) - 0.55) < 1e-12);
  assert.ok(Math.abs(learningRate(1, 110, s) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate(2, 60, { warmupSteps: 0, totalSteps: 100, kind: "linear" }) - 0.8) < 1e-12);
});
