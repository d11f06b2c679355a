/** Logits against PyTorch fixtures (python/fixtures/make_fixtures.py), checkpoint formats, and errors on bad checkpoints. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, truncateSync, statSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, saveModel } from "../../src/engine/io/checkpoint.js";
import { readSafetensors, writeSafetensors } from "../../src/engine/io/safetensors.js";
import { padBatch } from "../../src/engine/sequences.js";
import { kernels, nativeKernels, referenceKernels } from "../../src/engine/kernels/index.js";
import type { Kernels } from "../../src/engine/kernels/types.js";
import { assertClose, randomArray, values } from "../helpers.js";
import { makeHfConfig, parseConfig } from "../../src/engine/config.js";

const FIX = join(import.meta.dirname, "..", "fixtures");
const tmp = () => mkdtempSync(join(tmpdir(), "crossmon-test-"));

function checkAgainstTorch(name: string, k: Kernels, tol = 1e-4): void {
  const dir = join(FIX, name);
  const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as {
    sequences: number[][];
    logits: number[][][];
  };
  const model = loadModel(dir, { kernels: k });
  const batch = padBatch(expected.sequences);
  const rows: number[] = [];
  expected.sequences.forEach((s, b) => s.forEach((_, t) => rows.push(b * batch.T + t)));
  const { logits } = model.forward(batch, Int32Array.from(rows));
  const want = expected.logits.flat(2);
  assert.equal(logits.length, want.length);
  assertClose(logits, want, tol, `${name} logits (${k.name} kernels)`);
}

for (const name of [
  "tiny-llama",
  "tiny-qwen2-sharded",
  "tiny-qwen3",
  "tiny-qwen3-bf16",
  "tiny-qwen3-f16",
  "tiny-mistral",
  "tiny-gemma2",
  "tiny-gemma3",
  "tiny-phi3",
  "tiny-olmo2",
]) {
  test(`logits match PyTorch to 1e-4: ${name} (batched, right-padded)`, () => {
    // in F32 throughout: products with BF16 weights convert them (the BF16 dot products are checked below)
    nativeKernels()?.setBf16(false);
    try {
      checkAgainstTorch(name, kernels());
    } finally {
      nativeKernels()?.setBf16(true);
    }
    checkAgainstTorch(name, referenceKernels);
  });
}

test("the logits of a few rows, asked for in any order and repeated, are those rows of the whole batch's logits (the top layer's MLP runs on the rows asked for alone)", () => {
  for (const k of [kernels(), referenceKernels]) {
    const model = loadModel(join(FIX, "tiny-qwen3"), { kernels: k });
    const batch = padBatch([
      [5, 9, 2, 7, 11],
      [3, 8, 4],
    ]);
    const all = Int32Array.from({ length: batch.B * batch.T }, (_, i) => i);
    const whole = model.forward(batch, all).logits;
    const V = whole.length / all.length;
    const some = Int32Array.from([batch.T + 2, 0, 3, batch.T + 2]);
    const few = model.forward(batch, some).logits;
    const want = new Float32Array(some.length * V);
    some.forEach((row, r) => want.set(whole.subarray(row * V, (row + 1) * V), r * V));
    assertClose(few, want, 1e-5, `${k.name} kernels`);
  }
});

test("with the CPU's BF16 dot products, a BF16 checkpoint's logits stay within 0.08 of PyTorch's F32 ones (PyTorch computing in BF16 itself: 0.107)", {
  skip: nativeKernels()?.info().bf16 ? false : "this CPU has no AVX-512 BF16 dot products",
}, () => {
  checkAgainstTorch("tiny-qwen3-bf16", kernels(), 0.08);
});

test("save → load round trips exactly (F32), and BF16/F16 saves load as the rounded weights", () => {
  const model = loadModel(join(FIX, "tiny-qwen3"));
  const dir = tmp();
  saveModel(model, join(dir, "f32"));
  const again = loadModel(join(dir, "f32"));
  for (const [n, p] of model.params) assert.deepEqual(again.params.get(n)!.data, p.data, n);
  saveModel(model, join(dir, "bf16"), "BF16");
  const b = loadModel(join(dir, "bf16"));
  const bf = JSON.parse(readFileSync(join(dir, "bf16", "config.json"), "utf8"));
  assert.equal(bf.torch_dtype, "bfloat16");
  for (const [n, p] of model.params) assertClose(values(b.params.get(n)!), p.data, 2e-2, n);
  // the bf16 fixture was written by torch: re-saving it as BF16 must give back the same bytes' values
  const torchBf16 = loadModel(join(FIX, "tiny-qwen3-bf16"));
  saveModel(torchBf16, join(dir, "bf16b"), "BF16");
  const reread = loadModel(join(dir, "bf16b"));
  for (const [n, p] of torchBf16.params) assert.deepEqual(values(reread.params.get(n)!), values(p), n);
  saveModel(torchBf16, join(dir, "f16"), "F16");
  for (const [n, p] of loadModel(join(dir, "f16")).params)
    assertClose(values(p), values(torchBf16.params.get(n)!), 1e-2, n);
  rmSync(dir, { recursive: true });
});

test("safetensors: special values survive F16 and BF16, metadata and order are kept", () => {
  const dir = tmp();
  const data = Float32Array.from([0, -0, 1, -2.5, 65504, 1e-7, Infinity, -Infinity, Math.PI, 6.1e-5]);
  for (const dtype of ["F32", "F16", "BF16"] as const) {
    const f = join(dir, `${dtype}.safetensors`);
    writeSafetensors(f, { b: { shape: [2, 5], data }, a: { shape: [1], data: Float32Array.of(7) } }, dtype);
    const t = readSafetensors(f);
    assert.deepEqual([...t.keys()], ["a", "b"]);
    assert.deepEqual(t.get("b")!.shape, [2, 5]);
    const got = t.get("b")!.data;
    if (dtype === "F32") assert.deepEqual(got, data);
    else
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) assert.equal(got[i], data[i]);
        else
          assert.ok(
            Math.abs(got[i] - data[i]) <=
              Math.abs(data[i]) * (dtype === "F16" ? 1e-3 : 8e-3) + (dtype === "F16" ? 6e-8 : 1e-9),
            `${dtype}[${i}] ${got[i]} vs ${data[i]}`,
          );
      }
  }
  rmSync(dir, { recursive: true });
});

test("bad checkpoints give clear errors naming the file and the tensor", () => {
  const dir = tmp();
  const src = join(FIX, "tiny-qwen3");
  const copy = (name: string) => {
    const d = join(dir, name);
    cpSync(src, d, { recursive: true });
    return d;
  };
  assert.throws(() => loadModel(join(dir, "nothing")), /nothing: no such model folder$/);
  mkdirSync(join(dir, "empty"));
  assert.throws(() => loadModel(join(dir, "empty")), /empty\/config\.json: not found/);

  const malformed = copy("malformed");
  writeFileSync(join(malformed, "config.json"), "{ not json");
  assert.throws(() => loadModel(malformed), /config\.json: malformed JSON/);

  const missingField = copy("missing-field");
  const cfg = JSON.parse(readFileSync(join(src, "config.json"), "utf8"));
  writeFileSync(join(missingField, "config.json"), JSON.stringify({ ...cfg, hidden_size: undefined }));
  assert.throws(() => loadModel(missingField), /config\.json: field "hidden_size"/);

  const unknown = copy("unknown-arch");
  writeFileSync(join(unknown, "config.json"), JSON.stringify({ ...cfg, architectures: ["GPT2LMHeadModel"] }));
  assert.throws(() => loadModel(unknown), /GPT2LMHeadModel is not supported/);

  const wrongShape = copy("wrong-shape");
  writeFileSync(join(wrongShape, "config.json"), JSON.stringify({ ...cfg, intermediate_size: 41 }));
  assert.throws(
    () => loadModel(wrongShape),
    /model\.safetensors: tensor "model\.layers\.0\.mlp\.(gate|up|down)_proj\.weight" has shape \[\d+,\d+\], the config implies/,
  );

  const truncated = copy("truncated");
  const f = join(truncated, "model.safetensors");
  truncateSync(f, statSync(f).size - 10);
  assert.throws(() => loadModel(truncated), /model\.safetensors: truncated: tensor "[^"]+" ends at byte/);

  const missing = copy("missing-tensor");
  const t = readSafetensors(join(src, "model.safetensors"));
  t.delete("model.norm.weight");
  writeSafetensors(join(missing, "model.safetensors"), t);
  assert.throws(() => loadModel(missing), /missing tensor "model\.norm\.weight"/);
  rmSync(dir, { recursive: true });
});

test("a wrong token id is an error, not a read out of bounds", () => {
  const model = loadModel(join(FIX, "tiny-llama"));
  assert.throws(
    () => model.forward(padBatch([[1, 2, 999]]), Int32Array.of(0)),
    /token id 999 at position 2 is outside the vocabulary/,
  );
  void randomArray;
});

test("config.json as transformers 5 writes it: RoPE from rope_parameters, layer types and their windows", () => {
  const base = makeHfConfig({
    architecture: "Qwen3ForCausalLM",
    vocabSize: 64,
    hidden: 32,
    intermediate: 64,
    layers: 2,
    heads: 4,
    kvHeads: 2,
  });
  const v5 = (extra: Record<string, unknown>) => {
    const c: Record<string, unknown> = { ...base, ...extra };
    delete c.rope_theta;
    return c;
  };
  assert.equal(parseConfig(v5({ rope_parameters: { rope_type: "default", rope_theta: 1e6 } })).ropeTheta, 1e6);
  assert.equal(
    parseConfig(
      v5({
        rope_parameters: { full_attention: { rope_type: "default", rope_theta: 5e5 } },
        layer_types: ["full_attention", "full_attention"],
      }),
    ).ropeTheta,
    5e5,
  );
  const llama3 = parseConfig(
    v5({
      architectures: ["LlamaForCausalLM"],
      rope_parameters: {
        rope_type: "llama3",
        rope_theta: 5e5,
        factor: 32,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    }),
  );
  assert.equal(llama3.ropeTheta, 5e5);
  assert.equal(llama3.ropeScaling?.rope_type, "llama3");
  assert.equal(llama3.ropeScaling?.factor, 32);
  assert.equal(parseConfig(base).ropeTheta, (base as { rope_theta: number }).rope_theta, "the v4 field still read");
  assert.throws(
    () => parseConfig(v5({ layer_types: ["full_attention", "sliding_attention"] }), "m/config.json"),
    /m\/config.json: field "sliding_window": sliding_attention layers need a window size/,
  );
  // options of the newer families crossmon does not run are named, field and value, before any work
  const phi = { ...base, architectures: ["Phi3ForCausalLM"] };
  assert.throws(
    () => parseConfig({ ...phi, partial_rotary_factor: 0.75 }, "m/config.json"),
    /m\/config.json: field "partial_rotary_factor": 0.75 is not supported/,
  );
  assert.throws(
    () => parseConfig({ ...phi, rope_scaling: { rope_type: "longrope", factor: 32 } }, "m/config.json"),
    /field "rope_scaling.rope_type": "longrope" is not supported/,
  );
  assert.throws(
    () => parseConfig({ ...base, architectures: ["Gemma2ForCausalLM"], hidden_activation: "relu" }, "m/config.json"),
    /field "hidden_activation": "relu" is not supported/,
  );
  assert.throws(
    () => parseConfig({ ...base, architectures: ["GPT2LMHeadModel"] }, "m/config.json"),
    /field "architectures": GPT2LMHeadModel is not supported \(supported: LlamaForCausalLM, .*Olmo2ForCausalLM\)/,
  );
  const sliding = v5({ layer_types: ["full_attention", "sliding_attention"], sliding_window: 8 });
  assert.deepEqual(parseConfig(sliding).windows, [0, 8]);
  assert.throws(
    () => parseConfig(v5({ layer_types: ["full_attention", "chunked_attention"] }), "m/config.json"),
    /m\/config.json: field "layer_types": "chunked_attention" layers are not supported/,
  );
  assert.throws(() => parseConfig({ ...base, use_sliding_window: true }, "m/config.json"), /use_sliding_window/);
  assert.throws(
    () =>
      parseConfig(
        v5({ rope_parameters: { full_attention: { rope_theta: 1e6 }, sliding_attention: { rope_theta: 1e4 } } }),
      ),
    /rope_parameters/,
  );
});

test("a config whose sizes do not describe its weights is one line before any allocation (a million layers, head_dim 2^20)", () => {
  const dir = tmp();
  const src = join(FIX, "tiny-qwen3");
  const cfg = JSON.parse(readFileSync(join(src, "config.json"), "utf8"));
  const withConfig = (name: string, over: Record<string, unknown>) => {
    const d = join(dir, name);
    cpSync(src, d, { recursive: true });
    writeFileSync(join(d, "config.json"), JSON.stringify({ ...cfg, ...over }));
    return d;
  };
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  assert.throws(
    () => loadModel(withConfig("layers", { num_hidden_layers: 1_000_000 })),
    /layers\/config\.json: field "num_hidden_layers": Too big: expected number to be <=10000/,
  );
  assert.throws(
    () => loadModel(withConfig("layers-9999", { num_hidden_layers: 9999 })),
    /config\.json: field "num_hidden_layers" is 9999, the weights in .* hold 2 layer\(s\)/,
  );
  assert.throws(
    () => loadModel(withConfig("head-dim", { head_dim: 2 ** 20 })),
    /model\.safetensors: tensor "model\.layers\.0\.self_attn\.q_norm\.weight" has shape \[8\], the config implies \[1048576\]/,
  );
  assert.throws(() => loadModel(withConfig("vocab", { vocab_size: 2 ** 31 })), /field "vocab_size": Too big/);
  // nothing was allocated for them: well under a second and a few MB
  assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
  assert.ok(process.memoryUsage().rss - rss0 < 256 * 2 ** 20, "no gigabytes allocated");
  rmSync(dir, { recursive: true });
});

test("the parameters a config implies (checked against the weights before loading) are exactly those the model builds", async () => {
  const { paramShapes } = await import("../../src/engine/param-shapes.js");
  const { SUPPORTED_ARCHITECTURES } = await import("../../src/engine/config.js");
  const { tinyModel } = await import("./tiny.js");
  for (const arch of SUPPORTED_ARCHITECTURES) {
    const m = tinyModel(arch, 3, referenceKernels);
    const implied = [...paramShapes(m.config)].map(([n, s]) => `${n} [${s}]`).sort();
    const built = [...m.params.values()].map((p) => `${p.name} [${p.shape}]`).sort();
    assert.deepEqual(implied, built, arch);
  }
});
