import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../src/engine/io/dtype.js";
import { nativeKernels, referenceKernels } from "../../src/engine/kernels/index.js";
import {
  bf16ProductReference,
  lowRankReference,
  roundedBf16ProductReference,
} from "../../src/engine/kernels/reference.js";
import type { Kernels } from "../../src/engine/kernels/types.js";
import { assertClose, randomArray } from "../helpers.js";

const native = nativeKernels();
const ref = referenceKernels;
const skip = native ? false : "native addon not built";

function both(fn: (k: Kernels) => Float32Array[]): [Float32Array[], Float32Array[]] {
  return [fn(ref), fn(native!)];
}

/** A and B of an M×N×K product (op(A) = Aᵀ when ta, op(B) = Bᵀ when tb) with row strides past their widths */
function stridedOperands(M: number, N: number, K: number, ta: boolean, tb: boolean, seed: number) {
  const lda = (ta ? M : K) + 3;
  const ldb = (tb ? K : N) + 1;
  return {
    lda,
    ldb,
    ldc: N + 2,
    A: randomArray((ta ? K : M) * lda, seed),
    B: randomArray((tb ? N : K) * ldb, seed + 1),
  };
}

test("sgemm: every transpose combination, odd sizes, strides, alpha and beta", { skip }, () => {
  for (const [M, N, K] of [
    [1, 1, 1],
    [7, 13, 5],
    [37, 70, 300],
    [130, 33, 257],
    [64, 64, 64],
  ]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const { lda, ldb, ldc, A, B } = stridedOperands(M, N, K, ta, tb, 1);
        const C0 = randomArray(M * ldc, 3);
        // each backend (auto, own, OpenBLAS where it loaded), with beta 0 and not
        for (const gemm of [0, 1, 2] as const) {
          native!.setGemmBackend(gemm);
          if (gemm === 2) assert.equal(native!.info().gemm, native!.info().openblas ? "openblas" : "own");
          for (const beta of [0, 0.3]) {
            const [[r], [n]] = both((k) => {
              const C = C0.slice();
              k.sgemm(ta, tb, M, N, K, 0.7, A, lda, B, ldb, beta, C, ldc);
              return [C];
            });
            const what = `sgemm ${M}x${N}x${K} ta=${ta} tb=${tb} backend=${gemm} beta=${beta}`;
            assertClose(n, r, 2e-5 * Math.sqrt(K) + 1e-6, what);
          }
        }
      }
    }
  }
  native!.setGemmBackend(0);
});

test("the own gemm with beta 0 never reads C (NaN there stays out), several K blocks and edge tiles, and leaves the gaps between rows alone", {
  skip,
}, () => {
  native!.setGemmBackend(1);
  try {
    for (const [M, N, K] of [
      [37, 70, 600],
      [130, 45, 257],
      [300, 200, 150],
    ]) {
      for (const [ta, tb] of [
        [false, true],
        [true, false],
        [false, false],
      ]) {
        const lda = ta ? M : K;
        const ldb = tb ? K : N;
        const ldc = N + 3;
        const A = randomArray((ta ? K : M) * lda, 21);
        const B = randomArray((tb ? N : K) * ldb, 22);
        const r = new Float32Array(M * ldc);
        ref.sgemm(ta, tb, M, N, K, 0.7, A, lda, B, ldb, 0, r, ldc);
        for (const threads of [1, 2]) {
          native!.setThreads(threads);
          const c = new Float32Array(M * ldc).fill(Number.NaN);
          native!.sgemm(ta, tb, M, N, K, 0.7, A, lda, B, ldb, 0, c, ldc);
          for (let i = 0; i < M; i++)
            for (let j = N; j < ldc; j++) assert.ok(Number.isNaN(c[i * ldc + j]), `gap (${i}, ${j}) written`);
          const inside = (x: Float32Array) => x.filter((_, idx) => idx % ldc < N);
          assertClose(inside(c), inside(r), 2e-5 * Math.sqrt(K) + 1e-6, `${M}x${N}x${K} ta=${ta} tb=${tb}`);
        }
      }
    }
  } finally {
    native!.setGemmBackend(0);
    native!.setThreads(2);
  }
});

test("products with a side at most 16 wide (a LoRA adapter's rank: output 16 wide or 16 tall, and a narrow inner dimension) match the reference for every transpose, strides, alpha and beta, never read C when beta is 0, and are the same on 1 and 2 threads", {
  skip,
}, () => {
  native!.setGemmBackend(1);
  try {
    for (const [M, N, K] of [
      [203, 16, 130],
      [130, 5, 67],
      [16, 150, 200],
      [7, 90, 300],
      [300, 200, 16],
      [130, 67, 3],
    ]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const { lda, ldb, ldc, A, B } = stridedOperands(M, N, K, ta, tb, 31);
          for (const beta of [0, 0.3]) {
            const C0 = beta === 0 ? new Float32Array(M * ldc).fill(Number.NaN) : randomArray(M * ldc, 33);
            const r = C0.slice();
            ref.sgemm(ta, tb, M, N, K, 0.7, A, lda, B, ldb, beta, r, ldc);
            const byThreads = [1, 2].map((threads) => {
              native!.setThreads(threads);
              const c = C0.slice();
              native!.sgemm(ta, tb, M, N, K, 0.7, A, lda, B, ldb, beta, c, ldc);
              return c;
            });
            const what = `${M}x${N}x${K} ta=${ta} tb=${tb} beta=${beta}`;
            const inside = (x: Float32Array) => x.filter((_, idx) => idx % ldc < N);
            assertClose(inside(byThreads[0]), inside(r), 2e-5 * Math.sqrt(K) + 1e-6, what);
            for (let i = 0; i < M; i++)
              for (let j = N; j < ldc; j++)
                assert.ok(Object.is(byThreads[0][i * ldc + j], C0[i * ldc + j]), `${what}: gap (${i}, ${j}) written`);
            assert.deepEqual(byThreads[1], byThreads[0], `${what}: 2 threads differ from 1`);
          }
        }
      }
    }
  } finally {
    native!.setGemmBackend(0);
    native!.setThreads(2);
  }
});

test("decoding's products (a few rows times a weight matrix transposed) match the reference at every SIMD level's edges, the same on 1 and 2 threads", {
  skip,
}, () => {
  native!.setGemmBackend(1);
  try {
    for (const M of [1, 2, 3, 4, 5]) {
      for (const [N, K] of [
        [64, 16],
        [67, 17],
        [203, 100],
        [130, 576],
      ]) {
        const lda = K + 5;
        const ldc = N + 3;
        const A = randomArray(M * lda, 11);
        const B = randomArray(N * K, 12);
        const C0 = randomArray(M * ldc, 13);
        for (const beta of [0, 0.3]) {
          const r = C0.slice();
          ref.sgemm(false, true, M, N, K, 0.7, A, lda, B, K, beta, r, ldc);
          const byThreads = [1, 2].map((threads) => {
            native!.setThreads(threads);
            const c = C0.slice();
            native!.sgemm(false, true, M, N, K, 0.7, A, lda, B, K, beta, c, ldc);
            return c;
          });
          assertClose(byThreads[0], r, 2e-5 * Math.sqrt(K) + 1e-6, `${M}x${N}x${K} beta ${beta}`);
          assert.deepEqual(byThreads[1], byThreads[0], `${M}x${N}x${K}: 2 threads differ from 1`);
        }
      }
    }
  } finally {
    native!.setGemmBackend(0);
    native!.setThreads(2);
  }
});

test("own SIMD gemm matches the reference on 1 and 2 threads", { skip }, () => {
  native!.setGemmBackend(1);
  try {
    const [M, N, K] = [300, 200, 150];
    const A = randomArray(M * K, 4),
      B = randomArray(K * N, 5);
    for (const threads of [1, 2]) {
      native!.setThreads(threads);
      const c1 = new Float32Array(M * N),
        c2 = new Float32Array(M * N);
      ref.sgemm(false, false, M, N, K, 1, A, K, B, N, 0, c1, N);
      native!.sgemm(false, false, M, N, K, 1, A, K, B, N, 0, c2, N);
      assertClose(c2, c1, 1e-4, `own gemm on ${threads} threads`);
    }
  } finally {
    native!.setGemmBackend(0);
    native!.setThreads(2);
  }
});

test("rmsnorm forward and backward", { skip }, () => {
  const rows = 33,
    dim = 48;
  const x = randomArray(rows * dim, 6),
    w = randomArray(dim, 7),
    dout = randomArray(rows * dim, 8);
  const [r, n] = both((k) => {
    const out = new Float32Array(rows * dim),
      rstd = new Float32Array(rows);
    k.rmsnormForward(out, rstd, x, w, rows, dim, 1e-6);
    const dx = randomArray(rows * dim, 9),
      dw = randomArray(dim, 10);
    k.rmsnormBackward(dx, dw, dout, x, w, rstd, rows, dim, true);
    return [out, rstd, dx, dw];
  });
  r.forEach((a, i) => assertClose(n[i], a, 1e-4, `rmsnorm output ${i}`));
});

test("rope forward, inverse restores the input", { skip }, () => {
  const T = 9,
    rows = 18,
    heads = 3,
    hd = 8,
    maxPos = 40,
    half = hd / 2;
  const cos = new Float32Array(maxPos * half),
    sin = new Float32Array(maxPos * half);
  for (let p = 0; p < maxPos; p++)
    for (let i = 0; i < half; i++) {
      const a = p / 10000 ** ((2 * i) / hd);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  const x = randomArray(rows * heads * hd, 11);
  const [r, n] = both((k) => {
    const y = x.slice();
    k.rope(y, rows, T, heads, hd, 5, cos, sin, false);
    const z = y.slice();
    k.rope(z, rows, T, heads, hd, 5, cos, sin, true);
    return [y, z];
  });
  assertClose(n[0], r[0], 1e-5, "rope");
  assertClose(r[1], x, 1e-5, "rope inverse (reference)");
  assertClose(n[1], x, 1e-5, "rope inverse (native)");
  assert.ok(Math.abs(r[0][0] - x[0]) > 1e-3, "rope changed the input");
});

test("swiglu, geglu, cross-entropy, adamw, add, scale, sum of squares", { skip }, () => {
  const n = 5000;
  const g = randomArray(n, 12, 4),
    u = randomArray(n, 13),
    dh = randomArray(n, 14);
  const [r, nn] = both((k) => {
    const h = new Float32Array(n),
      dg = new Float32Array(n),
      du = new Float32Array(n);
    k.swigluForward(h, g, u, n);
    k.swigluBackward(dg, du, dh, g, u, n);
    return [h, dg, du];
  });
  r.forEach((a, i) => assertClose(nn[i], a, 1e-5, `swiglu ${i}`));
  const [rg, ng] = both((k) => {
    const h = new Float32Array(n),
      dg = new Float32Array(n),
      du = new Float32Array(n);
    k.gegluForward(h, g, u, n);
    k.gegluBackward(dg, du, dh, g, u, n);
    return [h, dg, du];
  });
  rg.forEach((a, i) => assertClose(ng[i], a, 1e-5, `geglu ${i}`));

  const rows = 7,
    V = 300;
  const logits = randomArray(rows * V, 15, 5);
  const targets = new Int32Array([0, 5, 299, 17, 3, 3, 100]);
  const weights = new Float32Array([1, 0, 0.5, 2, 0, 1, 1]);
  const lr = logits.slice(),
    ln = logits.slice();
  const lossR = ref.crossEntropy(lr, targets, weights, rows, V, 0.25);
  const lossN = native!.crossEntropy(ln, targets, weights, rows, V, 0.25);
  assert.ok(Math.abs(lossR - lossN) < 1e-4 * Math.abs(lossR), `loss ${lossR} vs ${lossN}`);
  assertClose(ln, lr, 1e-6, "cross-entropy gradient");
  assert.throws(
    () => native!.crossEntropy(logits.slice(), new Int32Array([V, 0, 0, 0, 0, 0, 0]), null, rows, V, 1),
    /outside the vocabulary/,
  );

  const p0 = randomArray(n, 16),
    gr = randomArray(n, 17),
    m0 = randomArray(n, 18, 0.1),
    v0 = randomArray(n, 19, 0.1).map(Math.abs);
  const [ra, na] = both((k) => {
    const p = p0.slice(),
      m = m0.slice(),
      v = v0.slice();
    k.adamw(p, gr, m, v, n, 1e-3, 0.9, 0.999, 1e-8, 0.1, 0.1, 0.001);
    const a = p.slice();
    k.addInPlace(a, gr, n);
    k.scaleInPlace(a, 0.5, n);
    return [p, m, v, a, new Float32Array([k.sumSquares(gr, n)])];
  });
  ra.forEach((a, i) => assertClose(na[i], a, 1e-4, `adamw/add/scale/sumsq ${i}`));
});

/** Rows [from, from + n) of each of B sequences of T rows (width w), laid out at a stride of `stride` rows. */
function rowsOf(x: Float32Array, B: number, T: number, from: number, n: number, w: number, stride: number) {
  const out = new Float32Array(B * stride * w);
  for (let b = 0; b < B; b++) out.set(x.subarray((b * T + from) * w, (b * T + from + n) * w), b * stride * w);
  return out;
}

/** lse with a row that sees no key (+∞) as 1e30, so that outputs compare by difference */
const noInfinity = (lse: Float32Array) => lse.map((x) => (x === Infinity ? 1e30 : x));

test("attention forward and backward, grouped heads, padding and an offset query block", { skip }, () => {
  const B = 2,
    T = 11,
    nH = 4,
    nKV = 2,
    hd = 8,
    scale = 1 / Math.sqrt(hd);
  const q = randomArray(B * T * nH * hd, 20),
    k = randomArray(B * T * nKV * hd, 21),
    v = randomArray(B * T * nKV * hd, 22);
  const dout = randomArray(B * T * nH * hd, 23);
  const valid = new Int32Array([T, 6]);
  for (const [win, softcap] of [
    [0, 0],
    [4, 0],
    [0, 1.5],
    [5, 0.7],
  ]) {
    const [r, n] = both((kk) => {
      const out = new Float32Array(B * T * nH * hd),
        lse = new Float32Array(B * nH * T);
      kk.attentionForward(out, lse, q, k, v, B, T, T, nH, nKV, hd, T, 0, valid, scale, win, softcap);
      // stale values in the gradients must not survive: they are overwritten
      const dq = randomArray(q.length, 3),
        dk = randomArray(k.length, 1),
        dv = randomArray(v.length, 2);
      kk.attentionBackward(dq, dk, dv, dout, out, lse, q, k, v, B, T, T, nH, nKV, hd, valid, scale, win, softcap);
      // decode-style: the last 3 queries against a cache of stride 16
      const cap = 16;
      const kc = rowsOf(k, B, T, 0, T, nKV * hd, cap),
        vc = rowsOf(v, B, T, 0, T, nKV * hd, cap);
      const q3 = rowsOf(q, B, T, T - 3, 3, nH * hd, 3);
      const out3 = new Float32Array(q3.length);
      kk.attentionForward(
        out3,
        null,
        q3,
        kc,
        vc,
        B,
        3,
        T,
        nH,
        nKV,
        hd,
        cap,
        T - 3,
        new Int32Array([T, T]),
        scale,
        win,
        softcap,
      );
      return [out, noInfinity(lse), dq, dk, dv, out3];
    });
    r.forEach((a, i) => assertClose(n[i], a, 1e-5, `attention output ${i} (window ${win}, softcap ${softcap})`));
    // The decode block equals the last rows of the full pass (batch 0 has no padding).
    for (let i = 0; i < 3 * nH * hd; i++) assert.ok(Math.abs(r[5][i] - r[0][(T - 3) * nH * hd + i]) < 1e-5);
    // keys past the second sequence's valid length are seen by no query: no gradient reaches them
    for (const g of [r[3], r[4]])
      for (let j = valid[1]; j < T; j++)
        for (let c = 0; c < nKV * hd; c++) assert.equal(g[(T + j) * nKV * hd + c], 0, `key ${j} (window ${win})`);
  }
});

test("native kernels reject buffers that are too short", { skip }, () => {
  assert.throws(
    () =>
      native!.sgemm(
        false,
        false,
        4,
        4,
        4,
        1,
        new Float32Array(15),
        4,
        new Float32Array(16),
        4,
        0,
        new Float32Array(16),
        4,
      ),
    /needs 16/,
  );
  assert.throws(
    () => native!.swigluForward(new Float32Array(3), new Float32Array(3), new Float32Array(3), 4),
    /needs 4/,
  );
  assert.throws(
    () =>
      native!.rmsnormForward(
        new Float32Array(4),
        null,
        new Float32Array(4),
        new Float32Array(4),
        1,
        4,
        "x" as unknown as number,
      ),
    /must be a number/,
  );
});

test("the native boundary refuses integers that are not sizes (NaN, fractions, negatives, past INT_MAX), leading dimensions shorter than a row, and positions before the tables, naming the argument", {
  skip,
}, () => {
  const f = (n: number) => new Float32Array(n);
  const gemm =
    (M: number, N: number, K: number, lda = K, ldb = N, ldc = N) =>
    () =>
      native!.sgemm(false, false, M, N, K, 1, f(16), lda, f(16), ldb, 0, f(16), ldc);
  for (const [bad, shown] of [
    [Number.NaN, "NaN"],
    [2.5, "2.5"],
    [-1, "-1"],
    [2 ** 31, "2147483648"],
    [-4294967292, "-4294967292"],
    [Number.POSITIVE_INFINITY, "Infinity"],
  ] as const) {
    assert.throws(gemm(bad, 4, 4), new RegExp(`^TypeError: sgemm: argument 2 \\(M\\) .* got ${shown}$`), `M ${bad}`);
    assert.throws(gemm(4, 4, bad), /argument 4 \(K\) must be a whole number/, `K ${bad}`);
    assert.throws(
      () => native!.addInPlace(f(4), f(4), bad),
      /addInPlace: argument 2 \(n\) must be a whole number from 0 to 2147483647/,
    );
  }
  assert.throws(gemm(4, 4, 4, 3), /argument 7 \(lda\) is 3, less than the 4 columns it spans/);
  assert.throws(gemm(4, 4, 4, 4, 4, 2), /argument 12 \(ldc\) is 2, less than the 4 columns/);
  // sizes whose product overflows 64 bits need more than any buffer holds
  assert.throws(() => native!.addInPlace(f(4), f(4), 2 ** 31 - 1), /argument 0 \(x\) has 4 elements, needs 2147483647/);
  const big = 2 ** 31 - 1;
  assert.throws(
    () => native!.attentionForward(f(4), null, f(4), f(4), f(4), big, big, 1, big, 1, big, 1, 0, null, 1, 0, 0),
    /argument 0 \(out\) has 4 elements, needs more than 2\^63/,
  );
  // a negative start position would read before the cos/sin tables
  const x = randomArray(2 * 4, 5);
  assert.throws(
    () => native!.rope(x, 2, 2, 1, 4, -2, f(8), f(8), false),
    /rope: argument 5 \(pos0\) must be a whole number from 0/,
  );
  assert.throws(() => native!.setThreads(0), /setThreads: argument 0 \(threads\) must be a whole number from 1/);
  assert.throws(() => native!.setGemmBackend(3 as 0), /must be 0, 1 or 2/);
});

test("the review's crafted call (an M that narrows to a small int) is a TypeError, not a crash of the process", {
  skip,
}, () => {
  // in a child process, so that a crash fails this test instead of ending the test run
  const call =
    "sgemm(false, false, -4294967292, 4, 4, 1, new Float32Array(0), 4, new Float32Array(16), 4, 0, " +
    "new Float32Array(0), 4)";
  const script =
    `import { nativeKernels } from "./src/engine/kernels/index.ts";\n` +
    `try { nativeKernels().${call}; console.log("returned"); } catch (e) { console.log(String(e)); }`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: join(import.meta.dirname, "..", ".."),
    encoding: "utf8",
  });
  assert.equal(r.signal, null, `the process died of ${r.signal}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^TypeError: sgemm: argument 2 \(M\) must be a whole number .* got -4294967292$/m);
});

test("native cross-entropy stays finite for targets far below the row's largest logit (margins past 87)", {
  skip,
}, () => {
  const V = 64;
  for (const margin of [50, 100, 500, 5000]) {
    const logits = new Float32Array(2 * V);
    logits[3] = margin; // row 0: the target (0) sits `margin` below the largest logit
    logits[V + 7] = margin; // row 1: the target is the largest
    const targets = new Int32Array([0, 7]);
    const lr = logits.slice(),
      ln = logits.slice();
    const want = ref.crossEntropy(lr, targets, null, 2, V, 1);
    const got = native!.crossEntropy(ln, targets, null, 2, V, 1);
    assert.ok(Number.isFinite(got), `margin ${margin}: loss ${got}`);
    assert.ok(Math.abs(got - want) <= 1e-4 * want, `margin ${margin}: ${got} vs ${want}`);
    assert.ok(Math.abs(got - margin) < 1e-3 * margin, `margin ${margin}: nll ${got}, expected about the margin`);
    assertClose(ln, lr, 1e-6, `margin ${margin}: gradient`);
  }
});

test("attention by blocks of rows matches the reference for head sizes 16, 64 and 80, long blocks, padding, windows, softcaps and a cached offset, with and without the log-normalisers training keeps (and the backward from them, over several blocks of keys and queries), the same on 1 and 2 threads", {
  skip,
}, () => {
  const B = 2,
    T = 400, // three blocks of keys and of queries in the training backward
    nH = 6,
    nKV = 2;
  try {
    for (const hd of [16, 64, 80]) {
      const scale = 1 / Math.sqrt(hd);
      const q = randomArray(B * T * nH * hd, 30),
        k = randomArray(B * T * nKV * hd, 31),
        v = randomArray(B * T * nKV * hd, 32);
      for (const [win, softcap, valid] of [
        [0, 0, [T, 37]],
        [9, 0, [T, T]],
        [0, 1.5, [5, T]],
        [13, 0.7, [T, 61]],
      ] as const) {
        const lens = Int32Array.from(valid);
        const full = (kk: Kernels) => {
          const out = new Float32Array(B * T * nH * hd);
          kk.attentionForward(out, null, q, k, v, B, T, T, nH, nKV, hd, T, 0, lens, scale, win, softcap);
          return out;
        };
        // the last 7 queries against keys held at a stride of 512 (a KV cache)
        const cap = 512;
        const kc = rowsOf(k, B, T, 0, T, nKV * hd, cap),
          vc = rowsOf(v, B, T, 0, T, nKV * hd, cap);
        const q7 = rowsOf(q, B, T, T - 7, 7, nH * hd, 7);
        const cached = (kk: Kernels) => {
          const out = new Float32Array(q7.length);
          kk.attentionForward(out, null, q7, kc, vc, B, 7, T, nH, nKV, hd, cap, T - 7, lens, scale, win, softcap);
          return out;
        };
        // training: each row's log-normaliser kept, then the backward from it
        const dout = randomArray(B * T * nH * hd, 33);
        const trained = (kk: Kernels) => {
          // stale values must not survive
          const out = new Float32Array(B * T * nH * hd),
            lse = randomArray(B * nH * T, 34);
          kk.attentionForward(out, lse, q, k, v, B, T, T, nH, nKV, hd, T, 0, lens, scale, win, softcap);
          const dq = randomArray(q.length, 35),
            dk = randomArray(k.length, 36),
            dv = randomArray(v.length, 37);
          kk.attentionBackward(dq, dk, dv, dout, out, lse, q, k, v, B, T, T, nH, nKV, hd, lens, scale, win, softcap);
          return [out, noInfinity(lse), dq, dk, dv];
        };
        const what = `head size ${hd}, window ${win}, softcap ${softcap}, lengths ${valid}`;
        const r = [full(ref), cached(ref), ...trained(ref)];
        const byThreads = [1, 2].map((threads) => {
          native!.setThreads(threads);
          return [full(native!), cached(native!), ...trained(native!)];
        });
        // dK and dV sum over up to 400 queries: F32 sums in the kernel's order and the reference's differed by 1.1e-5
        r.forEach((a, i) => assertClose(byThreads[0][i], a, 2e-5, `${what}: output ${i}`));
        assert.deepEqual(byThreads[1], byThreads[0], `${what}: 2 threads differ from 1`);
      }
    }
  } finally {
    native!.setThreads(2);
  }
});

test("products with BF16 weights (the CPU's BF16 dot products) match their definition: W as [N×K] (x·Wᵀ) and as [K×N] (the backward dy·W), odd sizes, several K blocks, strides, alpha and beta, decoding's few rows, the same on 1 and 2 threads", {
  skip: skip || (native!.info().bf16 ? false : "this CPU has no AVX-512 BF16 dot products"),
}, () => {
  try {
    for (const [M, N, K] of [
      [1, 64, 16],
      [3, 67, 33],
      [4, 130, 576],
      [5, 45, 7],
      [13, 33, 1637],
      [100, 300, 64],
      [200, 40, 700],
      [64, 200, 600],
      // rows of C split between tasks, W packed whole in several groups of columns and K blocks
      [400, 300, 1630],
    ]) {
      for (const wRows of [false, true]) {
        const ldx = K + 3;
        // odd row strides too (W's pairs then straddle rows' 32-bit words), and odd K with even strides
        const ldw = (wRows ? N : K) + (M % 3) + 1;
        const ldc = N + 5;
        const X = randomArray(M * ldx, 41);
        const W = new Uint16Array((wRows ? K : N) * ldw);
        f32ToBf16(randomArray(W.length, 42), W);
        const C0 = randomArray(M * ldc, 43);
        const product = wRows ? native!.sgemmBf16Rows! : native!.sgemmBf16!;
        for (const [alpha, beta] of [
          [1, 0],
          [0.7, 0.3],
        ]) {
          const what = `${wRows ? "X·W" : "X·Wᵀ"} ${M}x${N}x${K} alpha ${alpha} beta ${beta}`;
          const r = C0.slice();
          bf16ProductReference(M, N, K, alpha, X, ldx, W, ldw, beta, r, ldc, wRows);
          const byThreads = [1, 2].map((threads) => {
            native!.setThreads(threads);
            const c = C0.slice();
            assert.equal(product(M, N, K, alpha, X, ldx, W, ldw, beta, c, ldc), true);
            return c;
          });
          assertClose(byThreads[0], r, 2e-5 * Math.sqrt(K) + 1e-6, what);
          assert.deepEqual(byThreads[1], byThreads[0], `${what}: 2 threads differ from 1`);
        }
      }
    }
  } finally {
    native!.setThreads(2);
  }
});

test("products with BF16 weights add a low-rank term as they write C (a LoRA adapter's xa·Bᵀ and dxa·A): both layouts of W and of the term, ranks 1 to 20, strides, alpha and beta, decoding's few rows, K = 0, C's gaps untouched, the same on 1 and 2 threads; a short U is refused by name", {
  skip: skip || (native!.info().bf16 ? false : "this CPU has no AVX-512 BF16 dot products"),
}, () => {
  try {
    for (const [M, N, K, rank] of [
      [1, 64, 16, 16],
      [3, 67, 33, 1],
      [4, 130, 0, 5],
      [13, 33, 1637, 20],
      // columns of C split between tasks (M < N), and rows (M ≥ N) with several K blocks
      [100, 300, 64, 16],
      [400, 300, 1630, 16],
    ]) {
      for (const wRows of [false, true])
        for (const vRows of [false, true]) {
          const ldx = K + 3,
            ldw = (wRows ? N : K) + 1,
            ldc = N + 5;
          const ldu = rank + 2,
            ldv = (vRows ? N : rank) + 3;
          const X = randomArray(M * ldx, 51);
          const W = new Uint16Array(Math.max(1, (wRows ? K : N) * ldw));
          f32ToBf16(randomArray(W.length, 52), W);
          const U = randomArray(M * ldu, 53);
          const V = randomArray((vRows ? rank : N) * ldv, 54);
          const C0 = randomArray(M * ldc, 55);
          const product = wRows ? native!.sgemmBf16Rows! : native!.sgemmBf16!;
          for (const [alpha, beta, scale] of [
            [1, 0, 2],
            [0.7, 0.3, 0.5],
            [0, 1, 1],
          ]) {
            const what = `${wRows ? "X·W" : "X·Wᵀ"}${vRows ? " + U·V" : " + U·Vᵀ"} ${M}x${N}x${K} rank ${rank} alpha ${alpha}`;
            const r = C0.slice();
            bf16ProductReference(M, N, K, alpha, X, ldx, W, ldw, beta, r, ldc, wRows);
            lowRankReference(M, N, r, ldc, [U, ldu, V, ldv, vRows, rank, scale]);
            const byThreads = [1, 2].map((threads) => {
              native!.setThreads(threads);
              const c = C0.slice();
              assert.equal(
                product(M, N, K, alpha, X, ldx, W, ldw, beta, c, ldc, U, ldu, V, ldv, vRows, rank, scale),
                true,
              );
              return c;
            });
            assertClose(byThreads[0], r, 2e-5 * Math.sqrt(K + rank) + 1e-6, what);
            assert.deepEqual(byThreads[1], byThreads[0], `${what}: 2 threads differ from 1`);
            for (let i = 0; i < M; i++)
              for (let j = N; j < ldc && i * ldc + j < C0.length; j++)
                assert.equal(byThreads[0][i * ldc + j], C0[i * ldc + j], `${what}: C's gap at row ${i} written`);
          }
        }
    }
    const C = new Float32Array(8 * 8);
    const W = new Uint16Array(8 * 8);
    assert.throws(
      () =>
        native!.sgemmBf16!(
          8,
          8,
          8,
          1,
          new Float32Array(64),
          8,
          W,
          8,
          0,
          C,
          8,
          new Float32Array(8 * 4 - 1),
          4,
          new Float32Array(8 * 4),
          4,
          false,
          4,
          1,
        ),
      /sgemmBf16: argument 11 \(U\)/,
    );
    assert.throws(
      () =>
        native!.sgemmBf16Rows!(
          8,
          8,
          8,
          1,
          new Float32Array(64),
          8,
          W,
          8,
          0,
          C,
          8,
          new Float32Array(32),
          4,
          new Float32Array(4 * 8),
          7,
          true,
          4,
          1,
        ),
      /sgemmBf16Rows: argument 14 \(ldv\)/,
    );
  } finally {
    native!.setThreads(2);
  }
});

test("products of two F32 operands rounded to BF16 (the attention backward's) match their definition: every transpose pair, odd sizes and K, several K blocks, strides, alpha and beta, C's gaps untouched", {
  skip: skip || (native!.info().bf16 ? false : "this CPU has no AVX-512 BF16 dot products"),
}, () => {
  for (const [M, N, K] of [
    [1, 1, 1],
    [5, 45, 7],
    [13, 33, 64],
    [192, 192, 128],
    [37, 70, 1601],
  ])
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        const { A, B, lda, ldb, ldc } = stridedOperands(M, N, K, ta, tb, 61);
        for (const [alpha, beta] of [
          [1, 0],
          [0.7, 1],
        ]) {
          const what = `ta ${ta} tb ${tb} ${M}x${N}x${K} alpha ${alpha} beta ${beta}`;
          const C0 = randomArray(M * ldc, 63);
          if (beta === 0) for (let i = 0; i < M; i++) C0.fill(Number.NaN, i * ldc, i * ldc + N);
          const r = C0.slice(),
            c = C0.slice();
          roundedBf16ProductReference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, r, ldc);
          assert.equal(native!.sgemmRoundedBf16!(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, c, ldc), true);
          assertClose(c, r, 2e-5 * Math.sqrt(K) + 1e-6, what);
        }
      }
});

test("the attention forward on BF16 dot products (a BF16 model's) computes its scores from queries and keys rounded to BF16 and stays within BF16 rounding of F32: padded sequences, a cache through a window, a soft cap, decoding's few rows", {
  skip: skip || (native!.info().bf16 ? false : "this CPU has no AVX-512 BF16 dot products"),
}, () => {
  const nH = 4,
    nKV = 2;
  const rounded = (a: Float32Array) => {
    const half = new Uint16Array(a.length),
      out = new Float32Array(a.length);
    f32ToBf16(a, half);
    bf16ToF32(half, out);
    return out;
  };
  // [batch, query rows, keys, cache stride, first query position, head size, valid lengths, window, soft cap]
  const cases: [number, number, number, number, number, number, Int32Array | null, number, number][] = [
    [1, 301, 301, 301, 0, 64, null, 0, 0],
    [2, 77, 77, 80, 0, 128, Int32Array.from([77, 40]), 0, 0],
    [1, 45, 245, 300, 200, 64, null, 60, 0], // a cache continued by 45 rows, through a window
    [1, 64, 64, 64, 0, 32, null, 0, 30],
    [1, 15, 115, 128, 100, 64, null, 0, 0], // under 16 rows: the values' sum in F32
  ];
  for (const [B, Tq, Tk, stride, pos0, hd, lens, win, cap] of cases) {
    const what = `B ${B} Tq ${Tq} Tk ${Tk} head ${hd} window ${win} cap ${cap}`;
    const scale = 1 / Math.sqrt(hd);
    // scores of a few units, where a rounding of the keys shows in the log-normalisers (they moved by 0.002–0.010)
    const q = randomArray(B * Tq * nH * hd, 80).map((x) => 4 * x),
      k = randomArray(B * stride * nKV * hd, 81),
      v = randomArray(B * stride * nKV * hd, 82);
    const run = (kernels: Kernels, qs: Float32Array, ks: Float32Array, bf16: boolean) => {
      const out = new Float32Array(B * Tq * nH * hd).fill(Number.NaN),
        lse = new Float32Array(B * nH * Tq);
      kernels.attentionForward(out, lse, qs, ks, v, B, Tq, Tk, nH, nKV, hd, stride, pos0, lens, scale, win, cap, bf16);
      return { out, lse };
    };
    const exact = run(native!, q, k, false),
      bf16 = run(native!, q, k, true),
      // the definition: exact arithmetic on the rounded queries and keys (the values are not rounded here)
      defined = run(ref, rounded(q), rounded(k), false);
    let moved = 0;
    for (let j = 0; j < exact.lse.length; j++) {
      assert.ok(Math.abs(bf16.lse[j] - defined.lse[j]) < 2e-5, `${what}: lse ${j} ${bf16.lse[j]} vs ${defined.lse[j]}`);
      moved = Math.max(moved, Math.abs(bf16.lse[j] - exact.lse[j]));
    }
    assert.ok(moved > 1e-4, `${what}: the scores were not rounded (lse moved by ${moved})`);
    const relative = (a: Float32Array, b: Float32Array) => {
      let change = 0,
        size = 0;
      for (let j = 0; j < a.length; j++) {
        change += (a[j] - b[j]) ** 2;
        size += b[j] ** 2;
      }
      return Math.sqrt(change / size);
    };
    // under 16 rows, only the scores are rounded; from 16 on, the probabilities and values too (BF16 keeps 8
    // significant bits, a step of 0.39%): measured 0.21–0.23% against the definition
    const fromDefinition = relative(bf16.out, defined.out);
    if (Tq < 16) assert.ok(fromDefinition < 1e-5, `${what}: decoding's rows moved by ${fromDefinition} of their size`);
    else assert.ok(fromDefinition < 0.006 && fromDefinition > 0, `${what}: moved by ${fromDefinition} of its size`);
    const fromExact = relative(bf16.out, exact.out); // measured 0.26–0.33%
    assert.ok(fromExact < 0.02, `${what}: moved by ${fromExact} of its size from exact F32`);
  }
});

test("the attention backward on BF16 dot products (a BF16 model's) stays within BF16 rounding of the F32 backward: padded sequences, a window, a soft cap, odd lengths", {
  skip: skip || (native!.info().bf16 ? false : "this CPU has no AVX-512 BF16 dot products"),
}, () => {
  const nH = 4,
    nKV = 2;
  // [batch, tokens, head size, valid lengths, window, soft cap]: 401 tokens end in a block of 17 queries and keys
  const cases: [number, number, number, Int32Array | null, number, number][] = [
    [1, 300, 64, null, 0, 0],
    [1, 300, 40, null, 0, 0],
    [2, 401, 64, Int32Array.from([401, 250]), 0, 0],
    [2, 401, 48, Int32Array.from([380, 401]), 70, 0],
    [1, 401, 64, null, 0, 20],
  ];
  for (const [B, T, hd, lens, win, cap] of cases) {
    const scale = 1 / Math.sqrt(hd);
    const queries = randomArray(B * T * nH * hd, 70).map((x) => 4 * x), // scores of a few units, as the forward's test
      k = randomArray(B * T * nKV * hd, 71),
      v = randomArray(B * T * nKV * hd, 72),
      dout = randomArray(B * T * nH * hd, 73);
    // each backward from its own forward's output and log-normalisers, as a training step runs them
    const grads = (bf16: boolean, dout: Float32Array, q = queries) => {
      const out = new Float32Array(B * T * nH * hd),
        lse = new Float32Array(B * nH * T);
      native!.attentionForward(out, lse, q, k, v, B, T, T, nH, nKV, hd, T, 0, lens, scale, win, cap, bf16);
      const g = [new Float32Array(q.length), new Float32Array(k.length), new Float32Array(v.length)].map((a) =>
        a.fill(Number.NaN),
      );
      native!.attentionBackward(
        g[0],
        g[1],
        g[2],
        dout,
        out,
        lse,
        q,
        k,
        v,
        B,
        T,
        T,
        nH,
        nKV,
        hd,
        lens,
        scale,
        win,
        cap,
        bf16,
      );
      return g;
    };
    const exact = grads(false, dout),
      rounded = grads(true, dout);
    // With dO of row i one-hot at column i mod hd (exact in BF16), column c of dV sums the probabilities of the rows
    // i ≡ c: one per row and head where the backward recomputes the scores that the forward normalised. On sharper
    // scores (q three times larger), backward scores computed otherwise than the forward's (F32 against its BF16)
    // missed by 0.26–0.50% in the worst column; BF16's rounding of the probabilities by 0.07–0.09%, F32 by 3e-7.
    const sharp = queries.map((x) => 3 * x);
    const oneHot = new Float32Array(dout.length);
    for (let r = 0; r < B * T; r++) for (let h = 0; h < nH; h++) oneHot[(r * nH + h) * hd + ((r % T) % hd)] = 1;
    for (const bf16 of [false, true]) {
      const dV = grads(bf16, oneHot, sharp)[2];
      for (let b = 0; b < B; b++)
        for (let g = 0; g < nKV * hd; g++) {
          let total = 0;
          for (let j = 0; j < T; j++) total += dV[(b * T + j) * nKV * hd + g];
          const rows = (nH / nKV) * Math.floor((T - 1 - (g % hd)) / hd + 1);
          const miss = Math.abs(total / rows - 1);
          assert.ok(
            miss < (bf16 ? 1.5e-3 : 1e-5),
            `B ${B} T ${T} head ${hd} bf16 ${bf16} column ${g}: Σ P off by ${miss}`,
          );
        }
    }
    exact.forEach((e, i) => {
      const what = `B ${B} T ${T} head ${hd} window ${win} cap ${cap} ${["dq", "dk", "dv"][i]}`;
      let change = 0,
        size = 0;
      for (let j = 0; j < e.length; j++) {
        change += (rounded[i][j] - e[j]) ** 2;
        size += e[j] ** 2;
      }
      const relative = Math.sqrt(change / size);
      // BF16 keeps 8 significant bits (a step of 2⁻⁸ = 0.39%); measured 0.21–0.34% for head sizes 40, 48 and 64
      assert.ok(relative < 0.01, `${what}: changed by ${relative} of its size`);
      assert.ok(relative > 0, `${what}: the BF16 path changed nothing`);
    });
    // keys past a sequence's valid length get no gradient on either path
    if (lens)
      for (let b = 0; b < B; b++)
        for (let t: number = lens[b]; t < T; t++)
          for (let c = 0; c < nKV * hd; c++) {
            const at: number = (b * T + t) * nKV * hd + c;
            assert.equal(rounded[1][at], 0, `B ${B} T ${T}: dk of padding key ${t} of sequence ${b}`);
            assert.equal(rounded[2][at], 0, `B ${B} T ${T}: dv of padding key ${t} of sequence ${b}`);
          }
  }
});

test("products with 16-bit weights in exact F32 (F16, and BF16 without BF16 dot products) match the weights widened first: both layouts, several blocks, strides, alpha and beta, F16 subnormals", {
  skip,
}, () => {
  try {
    for (const [M, N, K] of [
      [1, 5, 3],
      [7, 300, 40],
      [33, 70, 4500],
      [130, 2100, 520],
    ]) {
      for (const wRows of [false, true]) {
        for (const f16 of [false, true]) {
          const ldx = K + 2;
          const ldw = (wRows ? N : K) + 3;
          const ldc = N + 1;
          const X = randomArray(M * ldx, 51);
          const values = randomArray((wRows ? K : N) * ldw, 52);
          values[1] = 3e-6; // an F16 subnormal
          values[2] = -6e-8;
          const W = new Uint16Array(values.length);
          (f16 ? f32ToF16 : f32ToBf16)(values, W);
          const wide = new Float32Array(W.length);
          (f16 ? f16ToF32 : bf16ToF32)(W, wide);
          const C0 = randomArray(M * ldc, 53);
          for (const [alpha, beta] of [
            [1, 0],
            [0.5, 0.25],
          ]) {
            const what = `${f16 ? "F16" : "BF16"} ${wRows ? "X·W" : "X·Wᵀ"} ${M}x${N}x${K} alpha ${alpha} beta ${beta}`;
            const r = C0.slice();
            ref.sgemm(false, !wRows, M, N, K, alpha, X, ldx, wide, ldw, beta, r, ldc);
            for (const threads of [1, 2]) {
              native!.setThreads(threads);
              const c = C0.slice();
              native!.sgemmHalf!(wRows, f16, M, N, K, alpha, X, ldx, W, ldw, beta, c, ldc);
              assertClose(c, r, 1e-5 * Math.sqrt(K) + 1e-6, `${what} on ${threads} threads`);
            }
          }
        }
      }
    }
  } finally {
    native!.setThreads(2);
  }
});

test("the CPU's peak (what benches read a step against): positive at every SIMD level for F32, for BF16 only with its dot products; a duration outside (0, 60] s is refused by name", {
  skip,
}, () => {
  const k = native!;
  assert.throws(() => k.peakGflops(true, 0), /peakGflops: argument 1 \(seconds\) must be in \(0, 60\]/);
  assert.throws(() => k.peakGflops(false, Number.NaN), /argument 1 \(seconds\)/);
  assert.throws(() => k.peakGflops(1 as unknown as boolean, 0.1), /argument 0 \(bf16\) must be a boolean/);
  // each level's loop in a process of its own (the level is chosen once, at load): AVX-512 (where the CPU has it),
  // AVX2 and the generic 128-bit loop; BF16 needs AVX-512 BF16, so below AVX-512 it is 0
  const levels = ["generic", "avx2", "avx512"].slice(0, ["generic", "avx2", "avx512"].indexOf(k.info().simd) + 1);
  const script = `import { nativeKernels } from "./src/engine/kernels/index.js";
    const k = nativeKernels(); console.log(JSON.stringify([k.info().simd, k.peakGflops(false, 0.02), k.peakGflops(true, 0.02)]));`;
  for (const level of levels) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: join(import.meta.dirname, "..", ".."),
      encoding: "utf8",
      env: { ...process.env, CROSSMON_SIMD: level },
    });
    assert.equal(r.status, 0, r.stderr);
    const [simd, f32, bf16] = JSON.parse(r.stdout.trim().split("\n").pop()!) as [string, number, number];
    assert.equal(simd, level);
    assert.ok(Number.isFinite(f32) && f32 > 0, `${level}: F32 peak ${f32}`);
    if (level !== "avx512") assert.equal(bf16, 0, `${level}: no BF16 dot products below AVX-512`);
    else if (k.info().bf16) assert.ok(Number.isFinite(bf16) && bf16 > 0, `BF16 peak ${bf16}`);
  }
});
