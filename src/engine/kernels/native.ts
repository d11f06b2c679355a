/** Loads the native addon built by `npm install` (build/Release/crossmon_kernels.node), if it is there. */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Kernels } from "./types.js";

export interface NativeInfo {
  threads: number;
  /** the backend every shape uses, or "per-shape" (gemmPlan says which) */
  gemm: "openblas" | "own" | "per-shape";
  gemmPlan: { row: "openblas" | "own"; small: "openblas" | "own"; large: "openblas" | "own" };
  openblas: boolean;
  simd: "avx512" | "avx2" | "generic";
  /** whether products with BF16 weights use the CPU's BF16 dot products (CROSSMON_BF16=f32 turns them off) */
  bf16: boolean;
}

export interface NativeKernels extends Kernels {
  setThreads(n: number): void;
  /** 0 = auto (OpenBLAS when found), 1 = own SIMD kernel, 2 = OpenBLAS. */
  setGemmBackend(which: 0 | 1 | 2): void;
  /** the same per shape class: one row (decoding), fewer than 64 rows, larger */
  setGemmPlan(row: 0 | 1 | 2, small: 0 | 1 | 2, large: 0 | 1 | 2): void;
  /** whether products with BF16 weights use the CPU's BF16 dot products (where it has them) or convert W to F32 */
  setBf16(on: boolean): void;
  info(): NativeInfo;
  /**
   * This CPU's arithmetic ceiling, GFLOP/s on all pool threads together: BF16 dot products (vdpbf16ps; 0 where the
   * CPU has none) or F32 fused multiply-adds at its widest vector width, in register-only loops of about `seconds`.
   */
  peakGflops(bf16: boolean, seconds: number): number;
}

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "binding.gyp"))) return dir;
    dir = dirname(dir);
  }
  return dir;
}

export function loadNativeKernels(): { kernels: NativeKernels | null; error?: string; path?: string } {
  // CROSSMON_ADDON points at another build of the addon (or at nothing, to run on the references)
  const path = process.env.CROSSMON_ADDON ?? join(findPackageRoot(), "build", "Release", "crossmon_kernels.node");
  if (!existsSync(path)) return { kernels: null, error: `${path} is missing (the native build failed or did not run)` };
  try {
    const require = createRequire(import.meta.url);
    const addon = require(path) as Omit<NativeKernels, "name">;
    return { kernels: { ...addon, name: "native" } as NativeKernels, path };
  } catch (e) {
    return { kernels: null, error: `${path} did not load: ${(e as Error).message}` };
  }
}
