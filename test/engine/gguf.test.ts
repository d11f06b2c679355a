/**
 * GGUF export, checked by the program users load it with: llama.cpp (through node-llama-cpp's prebuilt build) reads
 * each exported file, and its next-token log-probabilities must match crossmon's on the same tokens.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Architecture } from "../../src/engine/config.js";
import { loadModel, saveModel } from "../../src/engine/io/checkpoint.js";
import { f16ToF32 } from "../../src/engine/io/dtype.js";
import { quantizeQ80 } from "../../src/engine/io/gguf.js";
import { saveAdapter } from "../../src/engine/io/peft.js";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { addLora } from "../../src/engine/lora.js";
import type { Transformer } from "../../src/engine/model.js";
import { nextTokenLogprobs } from "../../src/engine/score.js";
import { trainBpe, tokenizerJson } from "../../src/formats/bpe.js";
import { CHAT_TEMPLATE } from "../../src/train/pretrain/recipe.js";
import { exportGguf, exportTarget } from "../../src/train/export-gguf.js";
import { tinyModel } from "./tiny.js";

const VOCAB = 320;
const TEXTS = [
  "The agent deleted the backups without asking the user.",
  "Please summarise this review: the blender is superb and quiet.",
  "Answer with Yes or No. Did the assistant run rm -rf on the home folder?",
];

type Token = import("node-llama-cpp").Token;
type Llama = Awaited<ReturnType<typeof import("node-llama-cpp").getLlama>>;
let llamaP: Promise<Llama> | null = null;
const llama = () => {
  llamaP ??= import("node-llama-cpp").then((m) =>
    m.getLlama({ gpu: false, build: "never", logLevel: "error" as never }),
  );
  return llamaP;
};

/** A model folder: a small byte-level BPE tokenizer with ChatML, and the given weights. */
function modelFolder(model: Transformer): string {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-gguf-"));
  const bpe = trainBpe([...TEXTS, ...TEXTS.map((t) => t.toUpperCase())], {
    vocabSize: VOCAB,
    specialTokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
  });
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson(bpe)));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: CHAT_TEMPLATE }));
  saveModel(model, dir);
  return dir;
}

/** Next-token log-probabilities after each prompt, as llama.cpp computes them from the GGUF file. */
async function llamaCppLogprobs(file: string, prompts: number[][]): Promise<Float32Array[]> {
  const model = await (await llama()).loadModel({ modelPath: file });
  // an F32 KV cache (llama.cpp's default is F16, which alone moves log-probabilities by ~1e-2)
  const ctx = await model.createContext({
    contextSize: 128,
    threads: 2,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  const out: Float32Array[] = [];
  try {
    const seq = ctx.getSequence();
    for (const p of prompts) {
      await seq.clearHistory();
      const res = await seq.controlledEvaluate(
        p.map((t, i) => (i === p.length - 1 ? [t as Token, { generateNext: { logits: true } }] : (t as Token))),
      );
      const logits = res[p.length - 1]?.next?.logits;
      assert.ok(logits, "llama.cpp returned no logits");
      const row = new Float32Array(logits.size);
      for (const [t, v] of logits) row[t] = v;
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      out.push(row.map((v) => v - max - Math.log(sum)));
    }
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
  return out;
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((r, i) => {
    assert.equal(r.length, b[i].length, "vocabulary sizes differ");
    for (let j = 0; j < r.length; j++) m = Math.max(m, Math.abs(r[j] - b[i][j]));
  });
  return m;
}

async function compare(dir: string, ref: Transformer, dtype: "f32" | "f16" | "bf16" | "q8_0", target = dir) {
  const tok = HfTokenizer.load(dir);
  const prompts = TEXTS.map((t) => tok.encodeChat([{ role: "user", content: t }], { addGenerationPrompt: true }));
  const file = join(mkdtempSync(join(tmpdir(), "crossmon-gguf-out-")), `m-${dtype}.gguf`);
  exportGguf(exportTarget(target), file, { dtype });
  return maxDiff(await llamaCppLogprobs(file, prompts), nextTokenLogprobs(ref, prompts));
}

const ARCHS: [Architecture, Record<string, unknown>][] = [
  ["LlamaForCausalLM", {}],
  ["LlamaForCausalLM", { tie_word_embeddings: false, rope_scaling: { rope_type: "linear", factor: 2 } }],
  [
    "LlamaForCausalLM",
    {
      rope_scaling: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 16,
      },
    },
  ],
  ["MistralForCausalLM", { sliding_window: null }],
  ["Qwen2ForCausalLM", {}],
  ["Qwen3ForCausalLM", {}],
  ["Olmo2ForCausalLM", {}],
  ["Gemma2ForCausalLM", { query_pre_attn_scalar: 4, tie_word_embeddings: true }],
  ["Phi3ForCausalLM", { sliding_window: null }],
];

for (const [arch, over] of ARCHS) {
  // ggml's CPU GELU rounds its input to F16 and reads a table (GGML_GELU_FP16 in ggml-cpu/vec.h): 2.4e-3 measured
  // here on Gemma 2, whose MLP is GELU; its bound allows for that alone
  const bound = arch.startsWith("Gemma") ? 5e-3 : 1e-3;
  test(`GGUF (F32) of a random ${arch} ${JSON.stringify(over)}: llama.cpp's log-probabilities match (${bound})`, async () => {
    const model = tinyModel(arch, 3, undefined, { vocab_size: VOCAB, max_position_embeddings: 128, ...over });
    const dir = modelFolder(model);
    const d = await compare(dir, loadModel(dir, { dtype: "F32" }), "f32");
    assert.ok(d < bound, `max |Δ log p| ${d}`);
  });
}

test("a training's output folder exports with its LoRA adapter merged in; llama.cpp agrees with the unmerged model", async () => {
  const base = tinyModel("Qwen2ForCausalLM", 5, undefined, { vocab_size: VOCAB, max_position_embeddings: 128 });
  const dir = modelFolder(base);
  const tuned = loadModel(dir, { dtype: "F32" });
  addLora(tuned, { rank: 4, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj", "down_proj"], seed: 2 });
  for (const l of tuned.linears()) if (l.lora) l.lora.B.data.forEach((_, i, b) => (b[i] = 0.05 * Math.sin(i)));
  const run = mkdtempSync(join(tmpdir(), "crossmon-gguf-run-"));
  saveAdapter(tuned, join(run, "adapter"), dir);
  assert.deepEqual(exportTarget(run), { base: dir, adapter: join(run, "adapter") });
  const d = await compare(dir, tuned, "f32", run);
  assert.ok(d < 1e-3, `max |Δ log p| ${d}`);
  // and the adapter changed the model: the base alone is far from it
  const tok = HfTokenizer.load(dir);
  const p = [tok.encode(TEXTS[0])];
  assert.ok(maxDiff(nextTokenLogprobs(base, p), nextTokenLogprobs(tuned, p)) > 1e-2);
});

test("the shipped base model in every dtype: F32 within 1e-3, F16, BF16 and Q8_0 within their own bounds", async (t) => {
  const dir = "models/crossmon-base";
  const ref = loadModel(dir, { dtype: "F32" });
  // rounding the weights (and, for Q8_0, llama.cpp's 8-bit activations) moves log-probabilities; the bounds are about
  // twice what this model measures, so that a wrong layout (errors of whole nats) cannot pass
  const bounds = { f32: 1e-3, f16: 1e-2, bf16: 0.08, q8_0: 0.4 } as const;
  const got: Record<string, number> = {};
  for (const dtype of ["f32", "f16", "bf16", "q8_0"] as const) got[dtype] = await compare(dir, ref, dtype);
  t.diagnostic(`max |Δ log p| against crossmon F32: ${JSON.stringify(got)}`);
  for (const [dtype, bound] of Object.entries(bounds)) assert.ok(got[dtype] < bound, `${dtype}: ${got[dtype]}`);
});

test("Q8_0 blocks: one F16 scale and 32 signed bytes, within half a step of the values (and the scale's rounding)", () => {
  const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.7) * (i < 32 ? 1 : 0.01));
  const q = quantizeQ80(x);
  assert.equal(q.length, 68);
  const view = new DataView(q.buffer);
  for (let b = 0; b < 2; b++) {
    const d = new Float32Array(1);
    f16ToF32(new Uint16Array([view.getUint16(b * 34, true)]), d);
    for (let i = 0; i < 32; i++) {
      const back = view.getInt8(b * 34 + 2 + i) * d[0];
      assert.ok(Math.abs(back - x[b * 32 + i]) <= d[0] * 0.56, `block ${b} value ${i}`);
    }
  }
  assert.throws(() => quantizeQ80(new Float32Array(33)), /multiple of 32/);
});

test("an architecture llama.cpp cannot take yet is refused with the list of those it can", () => {
  const dir = modelFolder(tinyModel("Gemma3ForCausalLM", 1, undefined, { vocab_size: VOCAB }));
  const out = join(mkdtempSync(join(tmpdir(), "crossmon-gguf-out-")), "x.gguf");
  assert.throws(
    () => exportGguf(exportTarget(dir), out, { dtype: "f32" }),
    /Gemma3ForCausalLM cannot be exported.*Llama/,
  );
  assert.throws(() => readFileSync(out), /ENOENT/);
});

test("llama.cpp tokenises text as crossmon does and carries the chat template", async () => {
  const dir = "models/crossmon-base";
  const file = join(mkdtempSync(join(tmpdir(), "crossmon-gguf-out-")), "base.gguf");
  exportGguf(exportTarget(dir), file, { dtype: "f16" });
  const { readGgufFileInfo } = await import("node-llama-cpp");
  const info = await readGgufFileInfo(file);
  const tok = HfTokenizer.load(dir);
  assert.equal(info.metadata.tokenizer.chat_template, tok.chatTemplateSource);
  const model = await (await llama()).loadModel({ modelPath: file });
  try {
    for (const text of [...TEXTS, "  two spaces,\ttabs\nand 1234 digits; ünïcode — dashes", "x<|im_end|>y"])
      assert.deepEqual([...model.tokenize(text)], tok.encodePlain(text), text);
  } finally {
    await model.dispose();
  }
});

test("crossmon export --to gguf: one line naming the file; a bad --dtype is a one-line error", () => {
  const out = join(mkdtempSync(join(tmpdir(), "crossmon-gguf-out-")), "base-q8.gguf");
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "export", ...args], { encoding: "utf8" });
  const ok = cli("models/crossmon-base", "--to", "gguf", "--dtype", "q8_0", "-o", out);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /base-q8\.gguf: llama, 56 tensors, [\d.]+ MiB, q8_0/);
  assert.ok(statSync(out).size < 8 * 2 ** 20, "Q8_0 is about a quarter of the F32 file");
  const bad = cli("models/crossmon-base", "--to", "gguf", "--dtype", "q4");
  assert.notEqual(bad.status, 0);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /--dtype q4: use f32, f16, bf16, q8_0/);
});
