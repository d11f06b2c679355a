/**
 * Hostile or broken weight files: NaN and infinite values, and safetensors headers whose offsets or shapes lie. Each
 * is one line naming the file and the tensor, before any score; a non-finite score is never a verdict.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { readHeader, readSafetensors, writeSafetensors } from "../../src/engine/io/safetensors.js";
import { answerProbability } from "../../src/eval/answer-probability.js";
import { MonitorServer } from "../../src/serve/server.js";

const FIX = join(import.meta.dirname, "..", "fixtures");

/** A copy of a fixture whose one tensor has one value replaced. */
function poisoned(fixture: string, value: number, dtype: "F32" | "BF16" = "F32"): string {
  const dir = join(mkdtempSync(join(tmpdir(), "crossmon-nan-")), fixture);
  cpSync(join(FIX, fixture), dir, { recursive: true });
  const t = readSafetensors(join(dir, "model.safetensors"));
  t.get("model.layers.0.mlp.down_proj.weight")!.data[5] = value;
  writeSafetensors(join(dir, "model.safetensors"), t, dtype);
  return dir;
}

test("NaN or infinite weights (F32 and BF16) are refused at load, naming the file, the tensor and the element", () => {
  for (const [value, dtype] of [
    [Number.NaN, "F32"],
    [Number.POSITIVE_INFINITY, "F32"],
    [Number.NEGATIVE_INFINITY, "BF16"],
    [Number.NaN, "BF16"],
  ] as const) {
    const dir = poisoned("tiny-qwen3", value, dtype);
    assert.throws(
      () => loadModel(dir),
      /model\.safetensors: tensor "model\.layers\.0\.mlp\.down_proj\.weight" holds a NaN or infinite value \(element 5\)/,
      `${value} ${dtype}`,
    );
  }
});

test("serve refuses to start on NaN weights instead of answering 'negative' for every request", async () => {
  const server = new MonitorServer({ model: poisoned("tiny-qwen3", Number.NaN), port: 0 });
  await assert.rejects(server.listen(), /holds a NaN or infinite value/);
  await server.close().catch(() => {});
});

test("a non-finite answer log-probability is an error naming the model, never a score", () => {
  const fine = answerProbability(Math.log(0.3), Math.log(0.1), "m");
  assert.ok(Math.abs(fine.p - 0.75) < 1e-12 && Math.abs(fine.mass - 0.4) < 1e-12);
  for (const [a, b] of [
    [Number.NaN, -1],
    [-1, Number.NaN],
    [Number.POSITIVE_INFINITY, -1],
    [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
  ])
    assert.throws(
      () => answerProbability(a, b, "models/broken"),
      /^Error: models\/broken: the answer tokens' log-probabilities are/,
    );
});

/** A safetensors file with the header JSON given, and `bytes` bytes of data after it. */
function withHeader(header: Record<string, unknown>, bytes = 64): string {
  const file = join(mkdtempSync(join(tmpdir(), "crossmon-st-")), "model.safetensors");
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(file, Buffer.concat([len, h, Buffer.alloc(bytes)]));
  return file;
}

test("safetensors headers that lie: negative or fractional offsets, negative or fractional shapes, overlapping tensors", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ w: { dtype: "F32", shape: [2], data_offsets: [-8, 0] } }, /tensor "w": data_offsets \[-8,0\] are not two whole/],
    [{ w: { dtype: "F32", shape: [2], data_offsets: [0.5, 8.5] } }, /tensor "w": data_offsets \[0\.5,8\.5\]/],
    [
      { w: { dtype: "F32", shape: [-2, -1], data_offsets: [0, 8] } },
      /tensor "w": shape \[-2,-1\] is not a list of whole/,
    ],
    [{ w: { dtype: "F32", shape: [1.5], data_offsets: [0, 6] } }, /tensor "w": shape \[1\.5\]/],
    [{ w: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, /data_offsets \[8,0\]/],
    [
      {
        a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
        b: { dtype: "F32", shape: [4], data_offsets: [8, 24] },
      },
      /tensors "a" and "b" overlap in the file/,
    ],
  ];
  for (const [header, message] of cases) {
    const file = withHeader(header);
    assert.throws(
      () => readHeader(file),
      (e: Error) => message.test(e.message) && e.message.startsWith(file),
      JSON.stringify(header),
    );
  }
  // a well-formed one still reads
  const ok = withHeader({
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    b: { dtype: "F32", shape: [2], data_offsets: [8, 16] },
  });
  assert.deepEqual([...readSafetensors(ok).keys()], ["a", "b"]);
});

test("adapters that would load only in part are refused: unknown layers, lora_A without lora_B, modules_to_save, NaN", async () => {
  const { addLora } = await import("../../src/engine/lora.js");
  const { loadAdapter, saveAdapter } = await import("../../src/engine/io/peft.js");
  const base = join(FIX, "tiny-qwen3");
  const fresh = () => loadModel(base);
  const made = join(mkdtempSync(join(tmpdir(), "crossmon-adapter-")), "adapter");
  const m = fresh();
  addLora(m, { rank: 2, alpha: 4, dropout: 0, targets: ["q_proj", "v_proj"], seed: 1 });
  saveAdapter(m, made, base);
  loadAdapter(fresh(), made); // as written, it loads
  const variant = (
    name: string,
    edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void,
    cfg?: object,
  ) => {
    const dir = join(mkdtempSync(join(tmpdir(), "crossmon-adapter-")), name);
    cpSync(made, dir, { recursive: true });
    const t = readSafetensors(join(dir, "adapter_model.safetensors"));
    edit(t);
    writeSafetensors(join(dir, "adapter_model.safetensors"), t);
    if (cfg) {
      const file = join(dir, "adapter_config.json");
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), ...cfg }));
    }
    return dir;
  };
  const key = "base_model.model.model.layers.0.self_attn.q_proj";
  const cases: [string, string, RegExp][] = [
    [
      "unknown-layer",
      variant("unknown-layer", (t) =>
        t.set("base_model.model.model.layers.99.self_attn.q_proj.lora_A.weight", t.get(`${key}.lora_A.weight`)!),
      ),
      /adapter_model\.safetensors: tensor "base_model\.model\.model\.layers\.99\.self_attn\.q_proj\.lora_A\.weight" match no targeted module/,
    ],
    [
      "no-B",
      variant("no-B", (t) => t.delete(`${key}.lora_B.weight`)),
      /module "model\.layers\.0\.self_attn\.q_proj" has lora_A but no lora_B/,
    ],
    [
      "saved-modules",
      variant("saved-modules", () => {}, { modules_to_save: ["lm_head"] }),
      /adapter_config\.json: field "modules_to_save": \["lm_head"\]: this adapter replaces whole modules/,
    ],
    [
      "nan",
      variant("nan", (t) => (t.get(`${key}.lora_B.weight`)!.data[1] = Number.NaN)),
      /tensor "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_B\.weight" holds a NaN/,
    ],
  ].map(([n, d, r]) => [n as string, d as string, r as RegExp]);
  for (const [name, dir, why] of cases) assert.throws(() => loadAdapter(fresh(), dir), why, name);
});

test("a FIFO in place of a weights, config or tokenizer file is an error, not a read that waits forever", async () => {
  const { spawnSync } = await import("node:child_process");
  const { rmSync } = await import("node:fs");
  const { modelFingerprint } = await import("../../src/engine/io/fingerprint.js");
  for (const f of ["model.safetensors", "config.json"]) {
    const dir = join(mkdtempSync(join(tmpdir(), "crossmon-fifo-")), "model");
    cpSync(join(FIX, "tiny-qwen3"), dir, { recursive: true });
    rmSync(join(dir, f));
    assert.equal(spawnSync("mkfifo", [join(dir, f)]).status, 0);
    const what = new RegExp(`${f.replace(".", "\\.")}: not a regular file \\(a FIFO`);
    assert.throws(() => loadModel(dir), what, f);
    assert.throws(() => modelFingerprint(dir), what, `${f}: fingerprint`);
  }
});
