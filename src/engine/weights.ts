/**
 * Products with a weight matrix W [out, in] as Hugging Face stores it, whether W is F32 or kept 16-bit in memory.
 * A 16-bit W is converted a block of rows at a time into one reused F32 buffer and multiplied block by block, so
 * no F32 copy of a whole matrix (an embedding of 150k rows is 1.2 GB in F32) ever exists. Where the CPU has BF16 dot
 * products, x·Wᵀ and the backward dy·W with a BF16 W use them instead (x or dy rounded to BF16, sums in F32: see
 * Kernels.sgemmBf16 and sgemmBf16Rows), reading W's bits where they lie; otherwise (F16, or no BF16 dot products) the
 * native kernels widen W block by block in exact F32 (Kernels.sgemmHalf). The TypeScript widening below is for the
 * reference kernels alone.
 */
import type { Kernels, LowRankTerm } from "./kernels/types.js";
import { type Param, readF32 } from "./params.js";

/** Elements converted per block: 4 MiB of F32, large enough that each block's product runs at full GEMM speed. */
const BLOCK = 1 << 20;
let scratch = new Float32Array(0);

function block(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(n);
  return scratch.subarray(0, n);
}

function rowsPerBlock(inF: number, outF: number): number {
  return Math.max(1, Math.min(outF, Math.floor(BLOCK / inF)));
}

/**
 * A LoRA adapter's update of a product's output, scale·U·V: U [rows, rank], and V [out, rank] (B, transposed in the
 * product) for matmulWT or [rank, in] (A) for matmulW. With a BF16 W on BF16 dot products it is added as each tile of
 * the output is written; otherwise by a product of its own after W's, which reads and writes the whole output again.
 */
export interface LowRankUpdate {
  U: Float32Array;
  V: Float32Array;
  rank: number;
  scale: number;
}

/** y[rows, out] = alpha·x[rows, in]·Wᵀ + beta·y (+ scale·U·Vᵀ) */
export function matmulWT(
  k: Kernels,
  x: Float32Array,
  rows: number,
  W: Param,
  y: Float32Array,
  alpha = 1,
  beta = 0,
  update?: LowRankUpdate,
): void {
  const [O, I] = W.shape;
  const term: LowRankTerm | [] = update
    ? [update.U, update.rank, update.V, update.rank, false, update.rank, update.scale]
    : [];
  // BF16 weights straight into the CPU's BF16 dot products, where it has them
  if (W.half?.dtype === "BF16" && k.sgemmBf16?.(rows, O, I, alpha, x, I, W.half.bits, I, beta, y, O, ...term)) return;
  productWT(k, x, rows, W, y, alpha, beta);
  if (update)
    k.sgemm(false, true, rows, O, update.rank, update.scale, update.U, update.rank, update.V, update.rank, 1, y, O);
}

/** matmulWT's product where W is F32 or its 16-bit values are multiplied in exact F32 (widened) */
function productWT(k: Kernels, x: Float32Array, rows: number, W: Param, y: Float32Array, alpha: number, beta: number) {
  const [O, I] = W.shape;
  if (!W.half) {
    k.sgemm(false, true, rows, O, I, alpha, x, I, W.data, I, beta, y, O);
    return;
  }
  if (k.sgemmHalf) {
    k.sgemmHalf(false, W.half.dtype === "F16", rows, O, I, alpha, x, I, W.half.bits, I, beta, y, O);
    return;
  }
  const step = rowsPerBlock(I, O);
  for (let r0 = 0; r0 < O; r0 += step) {
    const r1 = Math.min(O, r0 + step);
    const w = readF32(W, r0 * I, r1 * I, block((r1 - r0) * I));
    k.sgemm(false, true, rows, r1 - r0, I, alpha, x, I, w, I, beta, y.subarray(r0), O);
  }
}

/** dx[rows, in] (= or +=) dy[rows, out]·W (+ scale·U·V) */
export function matmulW(
  k: Kernels,
  dy: Float32Array,
  rows: number,
  W: Param,
  dx: Float32Array,
  accumulate: boolean,
  update?: LowRankUpdate,
): void {
  const [O, I] = W.shape;
  const beta = accumulate ? 1 : 0;
  const term: LowRankTerm | [] = update ? [update.U, update.rank, update.V, I, true, update.rank, update.scale] : [];
  // through a frozen BF16 weight: the BF16 dot products on W as it is, dy rounded to BF16 as the forward rounds x
  if (W.half?.dtype === "BF16" && k.sgemmBf16Rows?.(rows, I, O, 1, dy, O, W.half.bits, I, beta, dx, I, ...term)) return;
  productW(k, dy, rows, W, dx, accumulate);
  if (update) k.sgemm(false, false, rows, I, update.rank, update.scale, update.U, update.rank, update.V, I, 1, dx, I);
}

/** matmulW's product where W is F32 or widened, as productWT */
function productW(k: Kernels, dy: Float32Array, rows: number, W: Param, dx: Float32Array, accumulate: boolean) {
  const [O, I] = W.shape;
  if (!W.half) {
    k.sgemm(false, false, rows, I, O, 1, dy, O, W.data, I, accumulate ? 1 : 0, dx, I);
    return;
  }
  if (k.sgemmHalf) {
    k.sgemmHalf(true, W.half.dtype === "F16", rows, I, O, 1, dy, O, W.half.bits, I, accumulate ? 1 : 0, dx, I);
    return;
  }
  const step = rowsPerBlock(I, O);
  for (let r0 = 0; r0 < O; r0 += step) {
    const r1 = Math.min(O, r0 + step);
    const w = readF32(W, r0 * I, r1 * I, block((r1 - r0) * I));
    k.sgemm(false, false, rows, I, r1 - r0, 1, dy.subarray(r0), O, w, I, accumulate || r0 > 0 ? 1 : 0, dx, I);
  }
}

/** Row `r` of W into out[at, at + in) (an embedding lookup). */
export function copyRow(W: Param, r: number, out: Float32Array, at: number): void {
  const I = W.shape[1];
  readF32(W, r * I, (r + 1) * I, out.subarray(at, at + I));
}
