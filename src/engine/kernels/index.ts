/**
 * The kernels the engine uses: native when the addon loads, the TypeScript references otherwise (with one warning).
 * CROSSMON_KERNELS=reference forces the references.
 */
import { applyGemmPlan } from "./gemm-plan.js";
import { loadNativeKernels, type NativeKernels } from "./native.js";
import { referenceKernels } from "./reference.js";
import type { Kernels } from "./types.js";

export type { Kernels } from "./types.js";
export { referenceKernels } from "./reference.js";

let chosen: Kernels | null = null;
let native: NativeKernels | null | undefined;
let gemmPlan: ReturnType<typeof applyGemmPlan> = null;

/** The GEMM plan in force and where it came from (null without OpenBLAS, or without the native kernels). */
export function gemmPlanInForce(): ReturnType<typeof applyGemmPlan> {
  nativeKernels();
  return gemmPlan;
}

export function nativeKernels(): NativeKernels | null {
  if (native === undefined) {
    const r = loadNativeKernels();
    native = r.kernels;
    // the faster GEMM per shape, measured once per machine (or as CROSSMON_GEMM says)
    if (native && r.path) gemmPlan = applyGemmPlan(native, r.path);
    if (!native && process.env.CROSSMON_KERNELS !== "reference") {
      process.stderr.write(
        `crossmon: warning: native kernels unavailable (${r.error}); using the slower TypeScript kernels\n`,
      );
    }
  }
  return native;
}

export function kernels(): Kernels {
  if (!chosen)
    chosen = process.env.CROSSMON_KERNELS === "reference" ? referenceKernels : (nativeKernels() ?? referenceKernels);
  return chosen;
}

/** Threads for the native kernels and OpenBLAS (no effect on the references). */
export function setThreads(n: number): void {
  nativeKernels()?.setThreads(n);
}

/** Runs f with n threads (when n is given), then gives the caller its thread count back, even when f throws. */
export async function withThreads<T>(n: number | undefined, f: () => Promise<T>): Promise<T> {
  const before = nativeKernels()?.info().threads;
  if (n) setThreads(n);
  try {
    return await f();
  } finally {
    if (n && before) setThreads(before);
  }
}
