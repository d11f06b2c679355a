/**
 * Hostile or broken weight files: NaN and infinite values, and safetensors headers whose offsets or shapes lie. Each
 * is one line naming the file and the tensor, before any score; a non-finite score is never a verdict.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
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
