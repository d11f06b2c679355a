/**
 * Which GEMM runs, chosen by measurement: where OpenBLAS is found, each shape class (one row, as in decoding; fewer
 * than 64 rows; larger products) is timed on both crossmon's own kernel and OpenBLAS on first use, and the faster
 * one runs that class from then on. The choice is cached per machine, thread count and kernel build (a few hundred
 * milliseconds once), so the slower backend is never the default: on one machine the own kernel runs large products
 * at 1.5× Debian's OpenBLAS while OpenBLAS decodes twice as fast. CROSSMON_GEMM=own (or openblas) decides instead.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { crossmonCacheDir } from "../../core/cache-dir.js";
import type { NativeKernels } from "./native.js";

export type Backend = "own" | "openblas";
export const SHAPE_CLASSES = ["row", "small", "large"] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];
export type GemmPlan = Record<ShapeClass, Backend>;

/** A product typical of each class: a decoding step's projection, a short prompt's, a prefill or training batch's. */
const SHAPES: Record<ShapeClass, { M: number; N: number; K: number }> = {
  row: { M: 1, N: 2048, K: 2048 },
  small: { M: 16, N: 2048, K: 1024 },
  large: { M: 512, N: 1024, K: 1024 },
};

/** The faster backend of each class from measured seconds (own wins ties: it needs nothing installed). */
export function planFromTimings(t: Record<ShapeClass, Record<Backend, number>>): GemmPlan {
  const pick = (c: ShapeClass): Backend => (t[c].openblas < t[c].own ? "openblas" : "own");
  return { row: pick("row"), small: pick("small"), large: pick("large") };
}

/** Seconds per product, the best of a few runs after a warm-up (the least disturbed by other work). */
function timeGemm(k: NativeKernels, backend: Backend, s: { M: number; N: number; K: number }): number {
  const A = new Float32Array(s.M * s.K).fill(0.5);
  const B = new Float32Array(s.K * s.N).fill(0.25);
  const C = new Float32Array(s.M * s.N);
  const code = backend === "own" ? 1 : 2;
  k.setGemmPlan(code, code, code);
  const reps = s.M === 1 ? 10 : 3;
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r <= 2; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) k.sgemm(false, true, s.M, s.N, s.K, 1, A, s.K, B, s.K, 0, C, s.N);
    const sec = Number(process.hrtime.bigint() - t0) / 1e9 / reps;
    if (r > 0) best = Math.min(best, sec); // the first run warms caches and threads
  }
  return best;
}

export function measurePlan(k: NativeKernels): {
  plan: GemmPlan;
  seconds: Record<ShapeClass, Record<Backend, number>>;
} {
  const seconds = Object.fromEntries(
    SHAPE_CLASSES.map((c) => [c, { own: timeGemm(k, "own", SHAPES[c]), openblas: timeGemm(k, "openblas", SHAPES[c]) }]),
  ) as Record<ShapeClass, Record<Backend, number>>;
  return { plan: planFromTimings(seconds), seconds };
}

function cacheFile(): string {
  return join(crossmonCacheDir(), "gemm-plan.json");
}

const code = (b: Backend) => (b === "own" ? 1 : 2);

/**
 * Sets the GEMM plan for this process: from CROSSMON_GEMM, else from the cache, else measured (and cached). Nothing
 * to choose without OpenBLAS. Returns the plan and where it came from.
 */
export function applyGemmPlan(k: NativeKernels, addonPath: string): { plan: GemmPlan; source: string } | null {
  const env = process.env.CROSSMON_GEMM;
  if (env === "own" || env === "openblas") {
    k.setGemmPlan(code(env), code(env), code(env));
    return { plan: { row: env, small: env, large: env }, source: "CROSSMON_GEMM" };
  }
  const info = k.info();
  if (!info.openblas) return null;
  // what the choice depends on: the machine, the thread count and this build of the kernels
  const key = [
    cpus()[0]?.model ?? "cpu",
    info.threads,
    info.simd,
    existsSync(addonPath) ? statSync(addonPath).mtimeMs : 0,
  ].join("|");
  const file = cacheFile();
  let cached: Record<string, GemmPlan> = {};
  try {
    cached = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, GemmPlan>) : {};
  } catch {
    cached = {}; // an unreadable cache is measured again and rewritten
  }
  let plan = cached[key];
  let source = "cached measurement";
  if (!plan || !SHAPE_CLASSES.every((c) => plan[c] === "own" || plan[c] === "openblas")) {
    plan = measurePlan(k).plan;
    source = "measured now";
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ ...cached, [key]: plan }, null, 2));
    } catch {
      // a read-only home: measured again next time, nothing else lost
    }
  }
  k.setGemmPlan(code(plan.row), code(plan.small), code(plan.large));
  return { plan, source };
}
