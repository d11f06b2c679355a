/** GEMM throughput of the own SIMD kernel and of OpenBLAS, in the same process, on the engine's shapes. */
import { nativeKernels } from "../src/engine/kernels/index.js";

export interface GemmResult {
  own_gemm_gflops: number;
  openblas_gemm_gflops: number | null;
  own_gemm_ratio: number | null;
  simd: string;
  threads: number;
  /** which backend runs each shape class in this process (chosen by measurement; src/engine/kernels/gemm-plan.ts) */
  gemm_plan: Record<string, string>;
}

function timeGemm(M: number, N: number, K: number, ta: boolean, tb: boolean, minSeconds: number): number {
  const k = nativeKernels()!;
  const A = new Float32Array(M * K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const B = new Float32Array(K * N).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const C = new Float32Array(M * N);
  const lda = ta ? M : K,
    ldb = tb ? K : N;
  k.sgemm(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N);
  let reps = 0;
  const t0 = process.hrtime.bigint();
  let el = 0;
  while (el < minSeconds) {
    k.sgemm(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N);
    reps++;
    el = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return (2 * M * N * K * reps) / el / 1e9;
}

/** Shapes of the bench model's training step: forward NN-like (x·Wᵀ), and the two backward products. */
const SHAPES: [number, number, number, boolean, boolean][] = [
  [2048, 1024, 384, false, true],
  [2048, 384, 1024, false, false],
  [1024, 384, 2048, true, false],
  [512, 512, 512, false, false],
  [2048, 8192, 384, false, true],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function benchGemm(minSeconds = 0.3, rounds = 3): GemmResult {
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
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(benchGemm()));
