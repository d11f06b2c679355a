/**
 * The least a prefill can take on this CPU, as bench/lib/lora-floor.ts reads a LoRA step: the multiply-adds that any
 * implementation has to do to score a prompt at its last position, at the CPU's BF16 dot-product peak. A peer's
 * time over it is the largest ratio to that peer that the hardware allows.
 */
import { linears } from "./step-products.js";
import { USER_SHAPES, type UserShape } from "./user-shapes.js";

/**
 * GFLOP of a prefill of `tokens` tokens with the logits at the last position:
 * - every layer's linear products at every row, except the top layer's query, output and MLP products (its keys and
 *   values every row, the rest at the last row alone);
 * - causal attention's scores and weighted values, each query against the keys up to its own position (the top
 *   layer's last query alone), per query head;
 * - the LM head at the last row.
 */
export function prefillGflop(shape: UserShape, tokens: number): number {
  const { sizes, layers } = linears(shape);
  const c = USER_SHAPES[shape] as Record<string, number>;
  const KEYS_VALUES = new Set([1, 2]);
  let flop = 0;
  for (let l = 0; l < layers; l++) {
    const top = l === layers - 1;
    sizes.forEach(([out, inp], i) => {
      flop += 2 * (top && !KEYS_VALUES.has(i) ? 1 : tokens) * out * inp;
    });
    // Σ over queries of the keys each sees: T(T + 1) / 2, or the last query's T; two products of head_dim each
    const pairs = top ? tokens : (tokens * (tokens + 1)) / 2;
    flop += 2 * 2 * pairs * c.head_dim * c.num_attention_heads;
  }
  flop += 2 * c.vocab_size * c.hidden_size;
  return flop / 1e9;
}

/** The prefill's floor in seconds at `peakGflops` (0 or less: no floor, null) */
export function prefillFloorSeconds(shape: UserShape, tokens: number, peakGflops: number): number | null {
  return peakGflops > 0 ? prefillGflop(shape, tokens) / peakGflops : null;
}
