/**
 * The least a LoRA step through a frozen base can take on this CPU: the multiply-adds of the base's products that any
 * implementation has to do, at the CPU's arithmetic peak (Kernels.peakGflops: BF16 dot products in registers, nothing
 * loaded). A step's time over it is how far a kernel is from the hardware's limit; a peer's time over it is the
 * largest ratio to that peer that the hardware allows, before attention, the adapters and the rest are counted.
 */
import { linears } from "./step-products.js";
import type { UserShape } from "./user-shapes.js";

/**
 * GFLOP of the base products in one step on one example of `tokens` tokens whose loss reads `lossRows` of them (the
 * answer token: 1), with every linear layer adapted: each layer's forward x·Wᵀ and backward dy·W at every row, except
 * - the top layer's query, output and MLP products, which only the loss rows need (its keys and values every row);
 * - the bottom layer's dy·W of q, k and v, whose gradient reaches only the frozen embedding.
 */
export function loraStepGflop(shape: UserShape, tokens: number, lossRows = 1): number {
  const { sizes, layers } = linears(shape);
  const KEYS_VALUES = new Set([1, 2]),
    QKV = new Set([0, 1, 2]);
  let flop = 0;
  for (let l = 0; l < layers; l++)
    sizes.forEach(([out, inp], i) => {
      const rows = l === layers - 1 && !KEYS_VALUES.has(i) ? lossRows : tokens;
      const passes = l === 0 && QKV.has(i) ? 1 : 2;
      flop += 2 * rows * out * inp * passes;
    });
  return flop / 1e9;
}

/** The step's floor in seconds at `peakGflops` (0 or less: no floor, null) */
export function loraStepFloorSeconds(shape: UserShape, tokens: number, peakGflops: number): number | null {
  return peakGflops > 0 ? loraStepGflop(shape, tokens) / peakGflops : null;
}
