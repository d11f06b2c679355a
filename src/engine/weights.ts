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

/** y[rows, out] = alpha·x[rows, in]·Wᵀ + beta·y */
export function matmulWT(
  k: Kernels,
  x: Float32Array,
  rows: number,
  W: Param,
  y: Float32Array,
  alpha = 1,
  beta = 0,
): void {
  const [O, I] = W.shape;
  if (!W.half) {
    k.sgemm(false, true, rows, O, I, alpha, x, I, W.data, I, beta, y, O);
    return;
  }
  // BF16 weights straight into the CPU's BF16 dot products, where it has them
  if (W.half.dtype === "BF16" && k.sgemmBf16?.(rows, O, I, alpha, x, I, W.half.bits, I, beta, y, O)) return;
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

/** dx[rows, in] (= or +=) dy[rows, out]·W */
export function matmulW(
  k: Kernels,
  dy: Float32Array,
  rows: number,
  W: Param,
  dx: Float32Array,
  accumulate: boolean,
): void {
  const [O, I] = W.shape;
  if (!W.half) {
    k.sgemm(false, false, rows, I, O, 1, dy, O, W.data, I, accumulate ? 1 : 0, dx, I);
    return;
  }
  // through a frozen BF16 weight: the BF16 dot products on W as it is, dy rounded to BF16 as the forward rounds x
  if (W.half.dtype === "BF16" && k.sgemmBf16Rows?.(rows, I, O, 1, dy, O, W.half.bits, I, accumulate ? 1 : 0, dx, I))
    return;
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

/**
 * y[rows, out] = x·Wᵀ + scale·U·Vᵀ with U [rows, rank] and V [out, rank]: a LoRA adapter's forward (U = x·Aᵀ, V = B)
 * with its base. With a BF16 W on BF16 dot products, one pass: the term is added as each tile of y is written, not
 * in a product that reads and writes the whole of y again; otherwise the two products one after the other.
 */
export function matmulWTLowRank(
  k: Kernels,
  x: Float32Array,
  rows: number,
  W: Param,
  y: Float32Array,
  U: Float32Array,
  V: Float32Array,
  rank: number,
  scale: number,
): void {
  const [O, I] = W.shape;
  const term: LowRankTerm = [U, rank, V, rank, false, rank, scale];
  if (W.half?.dtype === "BF16" && k.sgemmBf16?.(rows, O, I, 1, x, I, W.half.bits, I, 0, y, O, ...term)) return;
  matmulWT(k, x, rows, W, y);
  k.sgemm(false, true, rows, O, rank, scale, U, rank, V, rank, 1, y, O);
}

/**
 * dx[rows, in] (= or +=) dy·W + U·V with U [rows, rank] and V [rank, in]: a LoRA adapter's backward to its input
 * (U = dxa, V = A) with its base's, in one pass where matmulWTLowRank makes one.
 */
export function matmulWLowRank(
  k: Kernels,
  dy: Float32Array,
  rows: number,
  W: Param,
  dx: Float32Array,
  accumulate: boolean,
  U: Float32Array,
  V: Float32Array,
  rank: number,
): void {
  const [O, I] = W.shape;
  const term: LowRankTerm = [U, rank, V, I, true, rank, 1];
  const beta = accumulate ? 1 : 0;
  if (W.half?.dtype === "BF16" && k.sgemmBf16Rows?.(rows, I, O, 1, dy, O, W.half.bits, I, beta, dx, I, ...term)) return;
  matmulW(k, dy, rows, W, dx, accumulate);
  k.sgemm(false, false, rows, I, rank, 1, U, rank, V, I, 1, dx, I);
}

/** Row `r` of W into out[at, at + in) (an embedding lookup). */
export function copyRow(W: Param, r: number, out: Float32Array, at: number): void {
  const I = W.shape[1];
  readF32(W, r * I, (r + 1) * I, out.subarray(at, at + I));
}
