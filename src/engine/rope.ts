/**
 * Rotary position tables (cos, sin per position and frequency), with the scalings Hugging Face applies:
 * none, "linear" (positions / factor) and "llama3" (wavelength-dependent frequency scaling).
 */
import type { RopeSetting } from "./config.js";

export interface RopeTables {
  cos: Float32Array;
  sin: Float32Array;
  maxPos: number;
}

export function inverseFrequencies(rope: RopeSetting, dim: number): Float64Array {
  const inv = new Float64Array(dim / 2);
  // float32 as transformers computes them, so tables match to the last bit where it matters
  for (let i = 0; i < dim / 2; i++) inv[i] = Math.fround(1 / rope.theta ** Math.fround((2 * i) / dim));
  const s = rope.scaling;
  if (s?.rope_type === "linear") {
    for (let i = 0; i < inv.length; i++) inv[i] /= s.factor ?? 1;
  } else if (s?.rope_type === "llama3") {
    const factor = s.factor ?? 8;
    const low = s.low_freq_factor ?? 1;
    const high = s.high_freq_factor ?? 4;
    const old = s.original_max_position_embeddings ?? 8192;
    const lowWavelen = old / low;
    const highWavelen = old / high;
    for (let i = 0; i < inv.length; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] = inv[i] / factor;
      else if (wavelen >= highWavelen) {
        const smooth = (old / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}

export function ropeTables(rope: RopeSetting, headDim: number, maxPos: number): RopeTables {
  const inv = inverseFrequencies(rope, headDim);
  const half = inv.length;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const a = Math.fround(p * Math.fround(inv[i]));
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin, maxPos };
}
