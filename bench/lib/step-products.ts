/**
 * The dense products of a LoRA step through a frozen BF16 base at the user shapes: every linear layer's x·Wᵀ
 * (forward) and dy·W (the gradient of its input), each timed alone with the BF16 kernel. Their sum, at the measured
 * rates, is how long a step's base products take with nothing else in it: the floor the step's other work adds to.
 */
import { f32ToBf16 } from "../../src/engine/io/dtype.js";
import { nativeKernels } from "../../src/engine/kernels/index.js";
import { callsPerSecond } from "./timing.js";
import { USER_SHAPES, type UserShape } from "./user-shapes.js";

export interface StepProducts {
  /** per product "M×N×K" of the forward (x·Wᵀ) and of the backward (dy·W): GFLOP/s */
  forward_gflops: Record<string, number>;
  backward_gflops: Record<string, number>;
  /** all layers' forward and backward base products at those rates, seconds */
  base_products_s: number;
  tokens: number;
}

/** [out, in] of each linear layer of one decoder layer (q, k, v, o, gate, up, down), and the layer count */
export function linears(shape: UserShape): { sizes: [number, number][]; layers: number } {
  const c = USER_SHAPES[shape] as Record<string, number>;
  const d = c.hidden_size,
    f = c.intermediate_size,
    hd = c.head_dim;
  const q = c.num_attention_heads * hd,
    kv = c.num_key_value_heads * hd;
  return {
    sizes: [
      [q, d],
      [kv, d],
      [kv, d],
      [d, q],
      [f, d],
      [f, d],
      [d, f],
    ],
    layers: c.num_hidden_layers,
  };
}

function gflops(M: number, N: number, K: number, rows: boolean, minSeconds: number): number {
  const k = nativeKernels()!;
  const X = new Float32Array(M * K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const W = new Uint16Array(N * K);
  f32ToBf16(
    new Float32Array(N * K).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5),
    W,
  );
  const C = new Float32Array(M * N);
  // rows: C[M×N] = X·W with W [K×N] (a weight [out = K, in = N] read by rows); else C = X·Wᵀ with W [N×K]
  const run = rows
    ? () => void k.sgemmBf16Rows?.(M, N, K, 1, X, K, W, N, 0, C, N)
    : () => void k.sgemmBf16?.(M, N, K, 1, X, K, W, K, 0, C, N);
  return (2 * M * N * K * callsPerSecond(run, minSeconds)) / 1e9;
}

/** null where the CPU has no BF16 dot products */
export function stepProducts(shape: UserShape, tokens = 1024, minSeconds = 0.5): StepProducts | null {
  if (!nativeKernels()?.info().bf16) return null;
  const { sizes, layers } = linears(shape);
  const forward: Record<string, number> = {};
  const backward: Record<string, number> = {};
  let seconds = 0;
  for (const [out, inp] of sizes) {
    const fwd = `${tokens}x${out}x${inp}`,
      bwd = `${tokens}x${inp}x${out}`;
    forward[fwd] ??= +gflops(tokens, out, inp, false, minSeconds).toFixed(1);
    backward[bwd] ??= +gflops(tokens, inp, out, true, minSeconds).toFixed(1);
    const flop = 2 * tokens * out * inp * layers;
    seconds += flop / (forward[fwd] * 1e9) + flop / (backward[bwd] * 1e9);
  }
  return { forward_gflops: forward, backward_gflops: backward, base_products_s: +seconds.toFixed(3), tokens };
}
