/**
 * A named weight tensor, its gradient (allocated only when it trains) and its shape, as Hugging Face names it.
 * A frozen matrix read from a BF16 or F16 checkpoint may stay 16-bit in memory (`half`, with `data` empty): the
 * products that use it convert a block of rows at a time (engine/weights.ts), so a 16-bit model takes half the
 * memory of F32 while every computation stays F32.
 */
import { bf16ToF32, f16ToF32 } from "./io/dtype.js";

export type HalfDtype = "BF16" | "F16";

export interface Param {
  name: string;
  shape: number[];
  data: Float32Array;
  grad: Float32Array | null;
  half?: { dtype: HalfDtype; bits: Uint16Array } | null;
}

const EMPTY = new Float32Array(0);

export function makeParam(name: string, shape: number[], data?: Float32Array): Param {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data && data.length !== n) throw new Error(`${name}: ${data.length} values for shape [${shape}]`);
  return { name, shape, data: data ?? new Float32Array(n), grad: null };
}

export function paramSize(p: Param): number {
  return p.shape.reduce((a, b) => a * b, 1);
}

/** Keeps a parameter as 16-bit values (its F32 buffer is let go). */
export function setHalf(p: Param, dtype: HalfDtype, bits: Uint16Array): void {
  if (bits.length !== paramSize(p)) throw new Error(`${p.name}: ${bits.length} values for shape [${p.shape}]`);
  if (p.grad) throw new Error(`${p.name}: a parameter that trains stays F32`);
  p.half = { dtype, bits };
  p.data = EMPTY;
}

/** Converts values [from, to) of a parameter, 16-bit or not, to F32 in `out`. */
export function readF32(p: Param, from: number, to: number, out: Float32Array): Float32Array {
  if (!p.half) {
    out.set(p.data.subarray(from, to));
    return out;
  }
  (p.half.dtype === "BF16" ? bf16ToF32 : f16ToF32)(p.half.bits.subarray(from, to), out);
  return out;
}

/** Back to F32 in memory (before a parameter trains or is changed in place, as a LoRA merge does). */
export function toF32(p: Param): void {
  if (!p.half) return;
  const out = new Float32Array(paramSize(p));
  readF32(p, 0, out.length, out);
  p.data = out;
  p.half = null;
}

export function setTrainable(p: Param, on: boolean): void {
  if (on) toF32(p); // full fine-tuning upcasts: AdamW's updates are far below a 16-bit weight's resolution
  p.grad = on ? (p.grad ?? new Float32Array(p.data.length)) : null;
}
