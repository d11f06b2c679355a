/** The Python that runs the benches' PyTorch peers: CROSSMON_PYTHON (e.g. the worker's venv) or the system's. */
import { existsSync } from "node:fs";
import { nativeKernels } from "../../src/engine/kernels/index.js";

export const PYTHON = process.env.CROSSMON_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

/** OPENBLAS_CORETYPE as crossmon sets it for itself, so both sides get the same BLAS kernel on CPUs that Debian's
 * OpenBLAS does not recognise. */
export function peerEnv(): NodeJS.ProcessEnv {
  const coretype = nativeKernels()?.info().simd === "avx512" ? "SkylakeX" : "Haswell";
  return { ...process.env, OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? coretype };
}
