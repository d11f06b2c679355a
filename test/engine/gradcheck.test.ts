/** Finite-difference checks of every op's backward and of whole tiny models (full fine-tuning and LoRA). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { nativeKernels, referenceKernels as K } from "../../src/engine/kernels/index.js";
import { addLora } from "../../src/engine/lora.js";
import { Rng } from "../../src/core/random.js";
import { setTrainable } from "../../src/engine/params.js";
import { forwardBackward } from "../../src/engine/train-step.js";
import type { WeightedSequence } from "../../src/engine/sequences.js";
import { type Architecture, SUPPORTED_ARCHITECTURES } from "../../src/engine/config.js";
import { randomArray } from "../helpers.js";
import { tinyModel } from "./tiny.js";

/** Checks analytic d(Σ r·f(x))/dx against central differences at a few coordinates. */
function checkOp(
  name: string,
  x: Float32Array,
  f: (x: Float32Array) => Float32Array,
  analytic: Float32Array,
  r: Float32Array,
  h = 1e-2,
  tol = 2e-2,
): void {
  const loss = (xx: Float32Array) => f(xx).reduce((s, y, i) => s + y * r[i], 0);
  for (const i of [0, 1, Math.floor(x.length / 2), x.length - 1]) {
    const xp = x.slice(),
      xm = x.slice();
    xp[i] += h;
    xm[i] -= h;
    const fd = (loss(xp) - loss(xm)) / (2 * h);
    const err = Math.abs(fd - analytic[i]) / Math.max(1e-2, Math.abs(fd) + Math.abs(analytic[i]));
    assert.ok(err < tol, `${name}[${i}]: finite difference ${fd} vs analytic ${analytic[i]}`);
  }
}

test("op gradients: rmsnorm (x and w), swiglu, geglu, rope, attention (q, k, v), cross-entropy", () => {
  const rows = 3,
    dim = 8;
  const x = randomArray(rows * dim, 1),
    w = randomArray(dim, 2),
    r = randomArray(rows * dim, 3);
  const rn = (xx: Float32Array, ww = w) => {
    const o = new Float32Array(rows * dim);
    K.rmsnormForward(o, null, xx, ww, rows, dim, 1e-5);
    return o;
  };
  const rstd = new Float32Array(rows);
  K.rmsnormForward(new Float32Array(rows * dim), rstd, x, w, rows, dim, 1e-5);
  const dx = new Float32Array(rows * dim),
    dw = new Float32Array(dim);
  K.rmsnormBackward(dx, dw, r, x, w, rstd, rows, dim, false);
  checkOp("rmsnorm dx", x, (xx) => rn(xx), dx, r);
  checkOp("rmsnorm dw", w, (ww) => rn(x, ww), dw, r);

  const n = 20,
    g = randomArray(n, 4, 3),
    u = randomArray(n, 5),
    rr = randomArray(n, 6);
  const dg = new Float32Array(n),
    du = new Float32Array(n);
  K.swigluBackward(dg, du, rr, g, u, n);
  const sw = (gg: Float32Array, uu: Float32Array) => {
    const o = new Float32Array(n);
    K.swigluForward(o, gg, uu, n);
    return o;
  };
  checkOp("swiglu dgate", g, (gg) => sw(gg, u), dg, rr);
  checkOp("swiglu dup", u, (uu) => sw(g, uu), du, rr);
  K.gegluBackward(dg, du, rr, g, u, n);
  const ge = (gg: Float32Array, uu: Float32Array) => {
    const o = new Float32Array(n);
    K.gegluForward(o, gg, uu, n);
    return o;
  };
  checkOp("geglu dgate", g, (gg) => ge(gg, u), dg, rr);
  checkOp("geglu dup", u, (uu) => ge(g, uu), du, rr);

  const T = 4,
    heads = 2,
    hd = 4,
    half = 2;
  const cos = new Float32Array(8 * half),
    sin = new Float32Array(8 * half);
  for (let i = 0; i < cos.length; i++) {
    cos[i] = Math.cos(i * 0.7);
    sin[i] = Math.sin(i * 0.7);
  }
  const xr = randomArray(T * heads * hd, 7),
    rr2 = randomArray(T * heads * hd, 8);
  const drope = rr2.slice();
  K.rope(drope, T, T, heads, hd, 1, cos, sin, true);
  checkOp(
    "rope",
    xr,
    (xx) => {
      const y = xx.slice();
      K.rope(y, T, T, heads, hd, 1, cos, sin, false);
      return y;
    },
    drope,
    rr2,
  );

  const B = 2,
    nH = 4,
    nKV = 2,
    Tq = 5,
    sc = 0.5;
  const q = randomArray(B * Tq * nH * hd, 9),
    k = randomArray(B * Tq * nKV * hd, 10),
    v = randomArray(B * Tq * nKV * hd, 11);
  const ro = randomArray(B * Tq * nH * hd, 12);
  const valid = new Int32Array([5, 3]);
  // plain causal; a sliding window (Mistral, Gemma); soft-capped scores (Gemma 2); both
  for (const [win, cap] of [
    [0, 0],
    [2, 0],
    [0, 0.8],
    [3, 0.5],
  ]) {
    const att = (qq: Float32Array, kk: Float32Array, vv: Float32Array, lse: Float32Array | null = null) => {
      const o = new Float32Array(B * Tq * nH * hd);
      K.attentionForward(o, lse, qq, kk, vv, B, Tq, Tq, nH, nKV, hd, Tq, 0, valid, sc, win, cap);
      return o;
    };
    const lse = new Float32Array(B * nH * Tq);
    const out = att(q, k, v, lse);
    const dq = new Float32Array(q.length),
      dk = new Float32Array(k.length),
      dv = new Float32Array(v.length);
    K.attentionBackward(dq, dk, dv, ro, out, lse, q, k, v, B, Tq, Tq, nH, nKV, hd, valid, sc, win, cap);
    checkOp(`attention dq (window ${win}, softcap ${cap})`, q, (qq) => att(qq, k, v), dq, ro);
    checkOp(`attention dk (window ${win}, softcap ${cap})`, k, (kk) => att(q, kk, v), dk, ro);
    checkOp(`attention dv (window ${win}, softcap ${cap})`, v, (vv) => att(q, k, vv), dv, ro);
  }

  const V = 9,
    R = 2;
  const z = randomArray(R * V, 13, 2),
    tg = new Int32Array([3, 7]),
    wts = new Float32Array([1, 0.5]);
  const grad = z.slice();
  K.crossEntropy(grad, tg, wts, R, V, 1);
  const ce = (zz: Float32Array) => new Float32Array([K.crossEntropy(zz.slice(), tg, wts, R, V, 1)]);
  checkOp("cross-entropy", z, ce, grad, new Float32Array([1]));
});

function sequences(): WeightedSequence[] {
  return [
    { ids: [2, 5, 9, 11, 3, 7], weights: [0, 1, 1, 1, 1, 1] },
    { ids: [4, 8, 15, 16], weights: [0, 0, 0, 2] }, // loss on one answer token, as single-token classification
  ];
}

function checkModel(arch: Architecture, lora: boolean, dropout = 0): void {
  const model = tinyModel(arch, 3, K);
  if (lora) {
    addLora(model, { rank: 2, alpha: 4, dropout, targets: ["all-linear"], seed: 5 });
    // non-zero B so gradients reach A too
    for (const l of model.linears()) if (l.lora) l.lora.B.data.set(randomArray(l.lora.B.data.length, 7, 0.3));
  } else for (const p of model.params.values()) setTrainable(p, true);
  const seqs = sequences();
  const run = () => {
    model.rng = new Rng(42); // same dropout masks in every evaluation
    return forwardBackward(model, seqs, 1);
  };
  for (const p of model.trainableParams()) p.grad!.fill(0);
  run();
  const params = model.trainableParams();
  assert.ok(params.length > 0);
  const lossOnly = () => {
    const saved = params.map((p) => p.grad!.slice());
    const l = run();
    params.forEach((p, i) => p.grad!.set(saved[i]));
    return l;
  };
  // an embedding's gradient lies in the rows of the tokens the sequences use: probe those (and one unused row, which
  // must stay zero), not rows 0, V/3 and V-1, which no sequence here uses
  const used = [...new Set(seqs.flatMap((q) => Array.from(q.ids).slice(0, -1)))]; // the inputs (the last id only a target)
  const probes = (p: (typeof params)[number]): number[] => {
    if (!p.name.includes("embed_tokens") || p.shape.length !== 2)
      return [0, p.data.length - 1, Math.floor(p.data.length / 3)];
    const d = p.shape[1];
    const unused = Array.from({ length: p.shape[0] }, (_, t) => t).find((t) => !used.includes(t)) ?? 0;
    return [used[0] * d, used[1] * d + d - 1, used[used.length - 1] * d + Math.floor(d / 3), unused * d + 1];
  };
  let checked = 0;
  let embeddingMoved = false;
  for (const p of params) {
    for (const i of probes(p)) {
      const h = 5e-3;
      const x0 = p.data[i];
      p.data[i] = x0 + h;
      const lp = lossOnly();
      p.data[i] = x0 - h;
      const lm = lossOnly();
      p.data[i] = x0;
      const fd = (lp - lm) / (2 * h);
      const an = p.grad![i];
      const err = Math.abs(fd - an) / Math.max(3e-3, Math.abs(fd) + Math.abs(an));
      assert.ok(err < 3e-2, `${arch}${lora ? " LoRA" : ""} ${p.name}[${i}]: finite difference ${fd} vs analytic ${an}`);
      if (p.name.includes("embed_tokens") && Math.abs(an) > 1e-5) embeddingMoved = true;
      checked++;
    }
  }
  assert.ok(checked >= 3 * params.length);
  if (params.some((p) => p.name.includes("embed_tokens")))
    assert.ok(embeddingMoved, `${arch}: every probed embedding gradient is zero (the probes miss the used rows)`);
}

for (const arch of SUPPORTED_ARCHITECTURES) {
  test(`whole-model gradients, full fine-tuning: ${arch}`, () => checkModel(arch, false));
}
test("whole-model gradients, LoRA (Qwen3)", () => checkModel("Qwen3ForCausalLM", true));
test("whole-model gradients, LoRA on fused projections (Phi-3)", () => checkModel("Phi3ForCausalLM", true));
test("whole-model gradients, LoRA with soft caps and windows (Gemma 2)", () => checkModel("Gemma2ForCausalLM", true));
test("whole-model gradients, LoRA with dropout (Llama)", () => checkModel("LlamaForCausalLM", true, 0.2));

const native = nativeKernels();
test("native and reference kernels give the same whole-model gradients", {
  skip: native ? false : "native addon not built",
}, () => {
  const grads = [K, native!].map((k) => {
    const m = tinyModel("Qwen3ForCausalLM", 3, k);
    for (const p of m.params.values()) setTrainable(p, true);
    forwardBackward(m, sequences(), 1);
    return m.trainableParams().map((p) => p.grad!.slice());
  });
  grads[0].forEach((g, i) => {
    for (let j = 0; j < g.length; j++)
      assert.ok(Math.abs(g[j] - grads[1][i][j]) < 1e-4 + 1e-3 * Math.abs(g[j]), `param ${i}[${j}]`);
  });
});

test("LoRA under a frozen embedding skips the bottom layer's input gradient, and its adapters' gradients stay the same", () => {
  // the same adapters' gradients, bit for bit, whether the embedding trains (the bottom layer's input gradient is
  // computed) or not (its products are skipped)
  const grads = [false, true].map((embedTrains) => {
    const calls = { sgemm: 0 };
    const counted = {
      ...K,
      sgemm: (...a: Parameters<typeof K.sgemm>) => {
        calls.sgemm++;
        K.sgemm(...a);
      },
    };
    const m = tinyModel("Qwen3ForCausalLM", 3, counted);
    addLora(m, { rank: 2, alpha: 4, dropout: 0, targets: ["all-linear"], seed: 5 });
    for (const l of m.linears()) if (l.lora) l.lora.B.data.set(randomArray(l.lora.B.data.length, 7, 0.3));
    setTrainable(m.embed, embedTrains);
    forwardBackward(m, sequences(), 1);
    const adapters = m.trainableParams().filter((p) => !p.name.includes("embed_tokens"));
    return { calls: calls.sgemm, grads: adapters.map((p) => [p.name, p.grad!.slice()] as const) };
  });
  assert.equal(grads[0].grads.length, grads[1].grads.length);
  grads[0].grads.forEach(([name, g], i) => assert.deepEqual(g, grads[1].grads[i][1], name));
  // q, k and v's dy·W (three products) and their adapters' dxa·A (three): the bottom layer's input gradient
  assert.equal(grads[1].calls - grads[0].calls, 6, `${grads[0].calls} products against ${grads[1].calls}`);
});
