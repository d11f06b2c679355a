/** Random checkpoints for benches: memory and speed do not depend on the weights' values. */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../../src/core/random.js";
import { parseConfig } from "../../src/engine/config.js";
import { f32ToBf16, f32ToF16 } from "../../src/engine/io/dtype.js";
import { Transformer } from "../../src/engine/model.js";

/** Writes a random BF16 (or F16) checkpoint tensor by tensor (a whole F32 copy of 1.7B weights would not fit the
 * point). */
export function writeRandomBf16(raw: Record<string, unknown>, dir: string, dtype: "BF16" | "F16" = "BF16"): void {
  mkdirSync(dir, { recursive: true });
  const torchDtype = dtype === "BF16" ? "bfloat16" : "float16";
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...raw, torch_dtype: torchDtype }));
  const shapes = [...new Transformer(parseConfig(raw)).params.values()].map((p) => ({ name: p.name, shape: p.shape }));
  shapes.sort((a, b) => (a.name < b.name ? -1 : 1));
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let off = 0;
  for (const s of shapes) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    header[s.name] = { dtype, shape: s.shape, data_offsets: [off, off + 2 * n] };
    off += 2 * n;
  }
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const rng = new Rng(1);
  const block = new Float32Array(1 << 20).map(() => rng.normal() * 0.02);
  const bits = new Uint16Array(block.length);
  (dtype === "BF16" ? f32ToBf16 : f32ToF16)(block, bits);
  const one = dtype === "BF16" ? 0x3f80 : 0x3c00;
  const fd = openSync(join(dir, "model.safetensors"), "w");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeSync(fd, len);
  writeSync(fd, h);
  for (const s of shapes) {
    const ones = s.name.endsWith("norm.weight");
    let left = s.shape.reduce((a, b) => a * b, 1);
    while (left > 0) {
      const n = Math.min(left, bits.length);
      writeSync(fd, ones ? new Uint8Array(new Uint16Array(n).fill(one).buffer) : new Uint8Array(bits.buffer, 0, 2 * n));
      left -= n;
    }
  }
  closeSync(fd);
}
