/** Random checkpoints for benches: memory and speed do not depend on the weights' values. */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../../src/core/random.js";
import { parseConfig } from "../../src/engine/config.js";
import { f32ToBf16 } from "../../src/engine/io/dtype.js";
import { Transformer } from "../../src/engine/model.js";

/** Writes a random BF16 checkpoint tensor by tensor (a whole F32 copy of 1.7B weights would not fit the point). */
export function writeRandomBf16(raw: Record<string, unknown>, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...raw, torch_dtype: "bfloat16" }));
  const shapes = [...new Transformer(parseConfig(raw)).params.values()].map((p) => ({ name: p.name, shape: p.shape }));
  shapes.sort((a, b) => (a.name < b.name ? -1 : 1));
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let off = 0;
  for (const s of shapes) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    header[s.name] = { dtype: "BF16", shape: s.shape, data_offsets: [off, off + 2 * n] };
    off += 2 * n;
  }
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const rng = new Rng(1);
  const block = new Float32Array(1 << 20).map(() => rng.normal() * 0.02);
  const bits = new Uint16Array(block.length);
  f32ToBf16(block, bits);
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
      writeSync(
        fd,
        ones ? new Uint8Array(new Uint16Array(n).fill(0x3f80).buffer) : new Uint8Array(bits.buffer, 0, 2 * n),
      );
      left -= n;
    }
  }
  closeSync(fd);
}
