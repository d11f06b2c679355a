/** The GEMM backend per shape class, chosen by measurement and cached; each class's products stay exact. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyGemmPlan, planFromTimings } from "../../src/engine/kernels/gemm-plan.js";
import { nativeKernels, referenceKernels } from "../../src/engine/kernels/index.js";
import { randomArray, assertClose } from "../helpers.js";

test("the faster backend wins each class; a tie goes to the own kernel", () => {
  assert.deepEqual(
    planFromTimings({
      row: { own: 2e-3, openblas: 1e-3 },
      small: { own: 1e-3, openblas: 1e-3 },
      large: { own: 1e-2, openblas: 2e-2 },
    }),
    { row: "openblas", small: "own", large: "own" },
  );
});

const native = nativeKernels();
const blas = native?.info().openblas ?? false;

test("measured once, then read from the cache; a damaged cache is measured again; CROSSMON_GEMM decides outright", {
  skip: blas ? false : "needs the native kernels and OpenBLAS (the plan has nothing to choose without them)",
}, () => {
  const k = native!;
  const dir = mkdtempSync(join(tmpdir(), "crossmon-gemm-"));
  const env = { cache: process.env.CROSSMON_CACHE_DIR, gemm: process.env.CROSSMON_GEMM };
  process.env.CROSSMON_CACHE_DIR = dir;
  delete process.env.CROSSMON_GEMM;
  const addon = join(import.meta.dirname, "..", "..", "build", "Release", "crossmon_kernels.node");
  try {
    const first = applyGemmPlan(k, addon)!;
    assert.equal(first.source, "measured now");
    assert.ok(existsSync(join(dir, "gemm-plan.json")));
    const again = applyGemmPlan(k, addon)!;
    assert.deepEqual([again.source, again.plan], ["cached measurement", first.plan]);
    assert.deepEqual(k.info().gemmPlan, first.plan, "the plan in force is the one chosen");
    writeFileSync(join(dir, "gemm-plan.json"), "{ not json");
    assert.equal(applyGemmPlan(k, addon)!.source, "measured now");
    assert.doesNotThrow(() => JSON.parse(readFileSync(join(dir, "gemm-plan.json"), "utf8")));
    process.env.CROSSMON_GEMM = "own";
    assert.deepEqual(applyGemmPlan(k, addon), {
      plan: { row: "own", small: "own", large: "own" },
      source: "CROSSMON_GEMM",
    });
    assert.equal(k.info().gemm, "own");
  } finally {
    process.env.CROSSMON_CACHE_DIR = env.cache;
    if (env.cache === undefined) delete process.env.CROSSMON_CACHE_DIR;
    if (env.gemm === undefined) delete process.env.CROSSMON_GEMM;
    else process.env.CROSSMON_GEMM = env.gemm;
  }
});

test("a mixed plan: every class's products equal the reference kernel's", {
  skip: blas ? false : "needs the native kernels and OpenBLAS",
}, () => {
  const k = native!;
  const plans: [0 | 1 | 2, 0 | 1 | 2, 0 | 1 | 2][] = [
    [2, 2, 1],
    [1, 1, 2],
  ];
  for (const plan of plans) {
    k.setGemmPlan(plan[0], plan[1], plan[2]);
    assert.equal(k.info().gemm, "per-shape");
    for (const [M, N, K] of [
      [1, 96, 80],
      [12, 96, 80],
      [70, 96, 80],
    ]) {
      const A = randomArray(M * K, M + 1);
      const B = randomArray(K * N, N + 2);
      const got = new Float32Array(M * N);
      const want = new Float32Array(M * N);
      k.sgemm(false, true, M, N, K, 1, A, K, B, K, 0, got, N);
      referenceKernels.sgemm(false, true, M, N, K, 1, A, K, B, K, 0, want, N);
      assertClose(got, want, 1e-4, `plan ${plan} ${M}×${N}×${K}`);
    }
  }
  k.setGemmBackend(0);
});
