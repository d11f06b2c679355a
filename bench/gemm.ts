/**
 * GEMM throughput of the own SIMD kernel and of OpenBLAS, in the same process, on the engine's shapes; and, where the
 * CPU has BF16 dot products, x·Wᵀ with W in BF16 against the own F32 kernel on the same shapes, and (run alone) the
 * base products of a LoRA step at the user shapes with the BF16 kernel.
 */
import { f32ToBf16 } from "../src/engine/io/dtype.js";
import { nativeKernels } from "../src/engine/kernels/index.js";
import { type StepProducts, stepProducts } from "./lib/step-products.js";
import { callsPerSecond, median } from "./lib/timing.js";
import { USER_SHAPES, type UserShape } from "./lib/user-shapes.js";

export interface GemmResult {
  own_gemm_gflops: number;
  openblas_gemm_gflops: number | null;
  own_gemm_ratio: number | null;
  simd: string;
  threads: number;
  /** which backend runs each shape class in this process (chosen by measurement; src/engine/kernels/gemm-plan.ts) */
  gemm_plan: Record<string, string>;
  /** per x·Wᵀ shape "M×N×K": [own F32, BF16 dot products] GFLOP/s, where the CPU has them */
  bf16_vs_f32?: Record<string, [number, number]>;
  /** per user shape, the base products of a 1,024-token LoRA step with the BF16 kernel (bench/lib/step-products.ts) */
  bf16_lora_step_products?: Record<string, StepProducts>;
}

function timeGemm(M: number, N: number, K: number, ta: boolean, tb: boolean, minSeconds: number, bf16 = false): number {
  const k = nativeKernels()!;
  const A = new Float32Array(M * K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const B = new Float32Array(K * N).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const W = new Uint16Array(K * N);
  f32ToBf16(B, W);
  const C = new Float32Array(M * N);
  const lda = ta ? M : K,
    ldb = tb ? K : N;
  const run = bf16
    ? () => void k.sgemmBf16?.(M, N, K, 1, A, K, W, K, 0, C, N)
    : () => k.sgemm(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N);
  return (2 * M * N * K * callsPerSecond(run, minSeconds)) / 1e9;
}

/** x·Wᵀ shapes for BF16 against F32: the engine bench's, the ~108M peer model's, and decoding's one row. */
const XWT_SHAPES: [number, number, number][] = [
  [2048, 1024, 384],
  [256, 1536, 576],
  [256, 576, 1536],
  [2048, 1536, 576],
  [1, 4096, 576],
];

/** Shapes of the bench model's training step: forward NN-like (x·Wᵀ), and the two backward products. */
const SHAPES: [number, number, number, boolean, boolean][] = [
  [2048, 1024, 384, false, true],
  [2048, 384, 1024, false, false],
  [1024, 384, 2048, true, false],
  [512, 512, 512, false, false],
  [2048, 8192, 384, false, true],
];

/** withSteps: also the user shapes' LoRA step products (tens of seconds; `npm run bench -- gemm` asks for them) */
export function benchGemm(minSeconds = 0.3, rounds = 3, withSteps = false): GemmResult {
  const k = nativeKernels();
  if (!k) throw new Error("native kernels are not built");
  const own: number[] = [],
    blas: number[] = [];
  const hasBlas = k.info().openblas;
  const plan = k.info().gemmPlan; // the plan in force (by measurement), given back after the bench
  for (let r = 0; r < rounds; r++) {
    for (const [M, N, K, ta, tb] of SHAPES) {
      k.setGemmBackend(1);
      own.push(timeGemm(M, N, K, ta, tb, minSeconds));
      if (hasBlas) {
        k.setGemmBackend(2);
        blas.push(timeGemm(M, N, K, ta, tb, minSeconds));
      }
    }
  }
  let bf16: Record<string, [number, number]> | undefined;
  if (k.info().bf16) {
    k.setGemmBackend(1);
    bf16 = Object.fromEntries(
      XWT_SHAPES.map(([M, N, K]) => [
        `${M}x${N}x${K}`,
        [
          +timeGemm(M, N, K, false, true, minSeconds).toFixed(1),
          +timeGemm(M, N, K, false, true, minSeconds, true).toFixed(1),
        ],
      ]),
    );
  }
  const steps: Record<string, StepProducts> = {};
  for (const shape of Object.keys(USER_SHAPES) as UserShape[]) {
    const s = withSteps ? stepProducts(shape) : null;
    if (s) steps[shape] = s;
  }
  const code = (b: string) => (b === "own" ? 1 : 2);
  k.setGemmPlan(code(plan.row), code(plan.small), code(plan.large));
  const o = median(own),
    b = hasBlas ? median(blas) : null;
  return {
    own_gemm_gflops: +o.toFixed(1),
    openblas_gemm_gflops: b && +b.toFixed(1),
    own_gemm_ratio: b ? +(o / b).toFixed(3) : null,
    simd: k.info().simd,
    threads: k.info().threads,
    gemm_plan: plan,
    ...(bf16 ? { bf16_vs_f32: bf16, bf16_lora_step_products: steps } : {}),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(benchGemm(0.3, 3, true)));
