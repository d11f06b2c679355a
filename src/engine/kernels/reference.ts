/**
 * Plain TypeScript kernels: the definition of every kernel, the fallback when the native addon is missing, and
 * what tests compare the native kernels against. Written for clarity, not speed.
 */
import type { Kernels, LowRankTerm } from "./types.js";
import { bf16ToF32, f32ToBf16 } from "../io/dtype.js";

export function sgemm(
  ta: boolean,
  tb: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
): void {
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let p = 0; p < K; p++) {
      const a = ta ? A[p * lda + i] : A[i * lda + p];
      if (a === 0) continue;
      if (tb) for (let j = 0; j < N; j++) row[j] += a * B[j * ldb + p];
      else {
        const off = p * ldb;
        for (let j = 0; j < N; j++) row[j] += a * B[off + j];
      }
    }
    const c = i * ldc;
    for (let j = 0; j < N; j++) C[c + j] = alpha * row[j] + (beta === 0 ? 0 : beta * C[c + j]);
  }
}

export function rmsnormForward(
  out: Float32Array,
  rstd: Float32Array | null,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  dim: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i] * x[o + i];
    const s = 1 / Math.sqrt(ss / dim + eps);
    if (rstd) rstd[r] = s;
    for (let i = 0; i < dim; i++) out[o + i] = x[o + i] * s * w[i];
  }
}

export function rmsnormBackward(
  dx: Float32Array,
  dw: Float32Array | null,
  dout: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rstd: Float32Array,
  rows: number,
  dim: number,
  accumulateDx: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const s = rstd[r];
    let dot = 0;
    for (let i = 0; i < dim; i++) dot += dout[o + i] * w[i] * x[o + i];
    const c = (s * s * s * dot) / dim;
    for (let i = 0; i < dim; i++) {
      const d = s * dout[o + i] * w[i] - c * x[o + i];
      dx[o + i] = accumulateDx ? dx[o + i] + d : d;
      if (dw) dw[i] += dout[o + i] * x[o + i] * s;
    }
  }
}

export function rope(
  x: Float32Array,
  rows: number,
  T: number,
  heads: number,
  headDim: number,
  pos0: number,
  cos: Float32Array,
  sin: Float32Array,
  inverse: boolean,
): void {
  const half = headDim / 2;
  const sign = inverse ? -1 : 1;
  for (let r = 0; r < rows; r++) {
    const pos = pos0 + (r % T);
    for (let h = 0; h < heads; h++) {
      const base = (r * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[pos * half + i];
        const s = sign * sin[pos * half + i];
        const a = x[base + i];
        const b = x[base + i + half];
        x[base + i] = a * c - b * s;
        x[base + i + half] = b * c + a * s;
      }
    }
  }
}

export function swigluForward(h: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) h[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
}

export function swigluBackward(
  dgate: Float32Array,
  dup: Float32Array,
  dh: Float32Array,
  gate: Float32Array,
  up: Float32Array,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const s = 1 / (1 + Math.exp(-g));
    dup[i] = dh[i] * g * s;
    dgate[i] = dh[i] * up[i] * s * (1 + g * (1 - s));
  }
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** h = gelu_tanh(gate) · up, GELU with PyTorch's tanh approximation (Gemma's gelu_pytorch_tanh) */
export function gegluForward(h: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    h[i] = 0.5 * g * (1 + Math.tanh(GELU_C * (g + GELU_A * g * g * g))) * up[i];
  }
}

export function gegluBackward(
  dgate: Float32Array,
  dup: Float32Array,
  dh: Float32Array,
  gate: Float32Array,
  up: Float32Array,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const t = Math.tanh(GELU_C * (g + GELU_A * g * g * g));
    dup[i] = dh[i] * 0.5 * g * (1 + t);
    dgate[i] = dh[i] * up[i] * (0.5 * (1 + t) + 0.5 * g * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * g * g));
  }
}

export function crossEntropy(
  logits: Float32Array,
  targets: Int32Array,
  weights: Float32Array | null,
  rows: number,
  V: number,
  scale: number,
): number {
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    const w = weights ? weights[r] : 1;
    const t = targets[r];
    if (t < 0 || t >= V) throw new TypeError(`crossEntropy: target ${t} at row ${r} is outside the vocabulary`);
    if (w === 0) {
      logits.fill(0, o, o + V);
      continue;
    }
    let mx = -Infinity;
    for (let i = 0; i < V; i++) mx = Math.max(mx, logits[o + i]);
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[o + i] - mx);
    loss += -w * (logits[o + t] - mx - Math.log(sum));
    for (let i = 0; i < V; i++) logits[o + i] = (Math.exp(logits[o + i] - mx) / sum) * w * scale;
    logits[o + t] -= w * scale;
  }
  return loss;
}

export function adamw(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  n: number,
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  wd: number,
  bc1: number,
  bc2: number,
): void {
  for (let i = 0; i < n; i++) {
    p[i] -= lr * wd * p[i];
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    p[i] -= (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + eps);
  }
}

export function addInPlace(a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) a[i] += b[i];
}

export function scaleInPlace(a: Float32Array, s: number, n: number): void {
  for (let i = 0; i < n; i++) a[i] *= s;
}

export function sumSquares(a: Float32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * a[i];
  return s;
}

export function attentionForward(
  out: Float32Array,
  lse: Float32Array | null,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  B: number,
  Tq: number,
  Tk: number,
  nH: number,
  nKV: number,
  hd: number,
  kvStride: number,
  qPos0: number,
  validLen: Int32Array | null,
  scale: number,
  window = 0,
  softcap = 0,
): void {
  const group = nH / nKV;
  const ldq = nH * hd;
  const ldk = nKV * hd;
  const S = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    const valid = validLen ? validLen[b] : Tk;
    for (let h = 0; h < nH; h++) {
      const kh = Math.floor(h / group);
      for (let i = 0; i < Tq; i++) {
        const last = Math.min(qPos0 + i, valid - 1);
        const first = window > 0 ? Math.max(0, qPos0 + i - window + 1) : 0;
        const qo = (b * Tq + i) * ldq + h * hd;
        let mx = -Infinity;
        for (let j = first; j <= last; j++) {
          const ko = (b * kvStride + j) * ldk + kh * hd;
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[qo + d] * k[ko + d];
          S[j] = softcap > 0 ? softcap * Math.tanh((dot * scale) / softcap) : dot * scale;
          mx = Math.max(mx, S[j]);
        }
        let sum = 0;
        for (let j = first; j <= last; j++) {
          S[j] = Math.exp(S[j] - mx);
          sum += S[j];
        }
        for (let d = 0; d < hd; d++) out[qo + d] = 0;
        if (lse) lse[(b * nH + h) * Tq + i] = last >= first ? mx + Math.log(sum) : Infinity;
        for (let j = first; j <= last; j++) {
          const p = S[j] / sum;
          const vo = (b * kvStride + j) * ldk + kh * hd;
          for (let d = 0; d < hd; d++) out[qo + d] += p * v[vo + d];
        }
      }
    }
  }
}

export function attentionBackward(
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  dout: Float32Array,
  _out: Float32Array, // the native kernels take Σ_j P·dP from it; here that sum is taken directly
  lse: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  B: number,
  Tq: number,
  Tk: number,
  nH: number,
  nKV: number,
  hd: number,
  validLen: Int32Array | null,
  scale: number,
  window = 0,
  softcap = 0,
): void {
  const group = nH / nKV;
  const ldq = nH * hd;
  const ldk = nKV * hd;
  dk.fill(0, 0, B * Tk * ldk);
  dv.fill(0, 0, B * Tk * ldk);
  const P = new Float64Array(Tk);
  const dP = new Float64Array(Tk);
  const capSlope = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    const valid = validLen ? validLen[b] : Tk;
    for (let h = 0; h < nH; h++) {
      const kh = Math.floor(h / group);
      for (let i = 0; i < Tq; i++) {
        const qo = (b * Tq + i) * ldq + h * hd;
        const last = Math.min(i, valid - 1, Tk - 1);
        const first = window > 0 ? Math.max(0, i - window + 1) : 0;
        const l = lse[(b * nH + h) * Tq + i];
        // the probabilities again, from the scores and the row's log-normaliser
        let dot = 0;
        for (let j = first; j <= last; j++) {
          const ko = (b * Tk + j) * ldk + kh * hd;
          let u = 0;
          let s = 0;
          for (let d = 0; d < hd; d++) {
            u += q[qo + d] * k[ko + d];
            s += dout[qo + d] * v[ko + d];
          }
          let score = u * scale;
          capSlope[j] = 1;
          if (softcap > 0) {
            // through the cap: d(c·tanh(u/c))/du = 1 − tanh²(u/c)
            const t = Math.tanh(score / softcap);
            score = softcap * t;
            capSlope[j] = 1 - t * t;
          }
          P[j] = Math.exp(score - l);
          dP[j] = s;
          dot += s * P[j];
        }
        for (let d = 0; d < hd; d++) dq[qo + d] = 0;
        for (let j = first; j <= last; j++) {
          const p = P[j];
          const ko = (b * Tk + j) * ldk + kh * hd;
          const ds = p * (dP[j] - dot) * scale * capSlope[j];
          for (let d = 0; d < hd; d++) {
            dq[qo + d] += ds * k[ko + d];
            dk[ko + d] += ds * q[qo + d];
            dv[ko + d] += p * dout[qo + d];
          }
        }
      }
    }
  }
}

export const referenceKernels: Kernels = {
  name: "reference",
  sgemm,
  rmsnormForward,
  rmsnormBackward,
  rope,
  swigluForward,
  swigluBackward,
  gegluForward,
  gegluBackward,
  crossEntropy,
  adamw,
  addInPlace,
  scaleInPlace,
  sumSquares,
  attentionForward,
  attentionBackward,
};

/**
 * What a low-rank term (LowRankTerm) adds to a product's C[M×N]: C += scale·U·Vᵀ, each output's rank products summed
 * in order.
 */
export function lowRankReference(M: number, N: number, C: Float32Array, ldc: number, term: LowRankTerm): void {
  const [U, ldu, V, ldv, vRows, rank, scale] = term;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let q = 0; q < rank; q++) s += U[i * ldu + q] * (vRows ? V[q * ldv + j] : V[j * ldv + q]);
      C[i * ldc + j] += scale * s;
    }
}

/**
 * What Kernels.sgemmBf16 computes: C = alpha·X·Wᵀ + beta·C with W [N×K] as BF16 bits, each element of alpha·X
 * rounded to BF16 (to nearest even), products summed in F64 here (the kernels sum in F32, in their own order).
 * With wRows, what Kernels.sgemmBf16Rows computes: the same with W [K×N] (C = alpha·X·W + beta·C).
 */
export function bf16ProductReference(
  M: number,
  N: number,
  K: number,
  alpha: number,
  X: Float32Array,
  ldx: number,
  W: Uint16Array,
  ldw: number,
  beta: number,
  C: Float32Array,
  ldc: number,
  wRows = false,
): void {
  const xr = new Float32Array(K);
  const xb = new Uint16Array(K);
  const w = new Float32Array(K);
  const column = new Uint16Array(K);
  // alpha as the kernels hold it, an F32: 0.7 as a double moves some x·alpha across a BF16 rounding boundary, one
  // BF16 step (0.4%) apart from the kernel's value
  const a = Math.fround(alpha);
  for (let i = 0; i < M; i++) {
    for (let p = 0; p < K; p++) xr[p] = a * X[i * ldx + p];
    f32ToBf16(xr, xb);
    bf16ToF32(xb, xr);
    for (let j = 0; j < N; j++) {
      if (wRows) for (let p = 0; p < K; p++) column[p] = W[p * ldw + j];
      bf16ToF32(wRows ? column : W.subarray(j * ldw, j * ldw + K), w);
      let s = 0;
      for (let p = 0; p < K; p++) s += xr[p] * w[p];
      C[i * ldc + j] = (beta === 0 ? 0 : beta * C[i * ldc + j]) + s;
    }
  }
}

/**
 * What Kernels.sgemmRoundedBf16 computes: sgemm's C = alpha·op(A)·op(B) + beta·C with each element of alpha·A and of
 * B rounded to BF16 (to nearest even), products summed in F64 here (sgemm on the rounded operands).
 */
export function roundedBf16ProductReference(...product: Parameters<typeof sgemm>): void {
  const [ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc] = product;
  const rounded = (values: Float32Array) => {
    const bits = new Uint16Array(values.length);
    f32ToBf16(values, bits);
    bf16ToF32(bits, values);
    return values;
  };
  // alpha as the kernels hold it, an F32, applied before the rounding
  const a = Math.fround(alpha);
  // where element e of op(X), a dense [rows × cols] row-major matrix, is stored in X
  const stored = (trans: boolean, ld: number, cols: number) => (e: number) => {
    const r = Math.floor(e / cols),
      c = e % cols;
    return trans ? c * ld + r : r * ld + c;
  };
  const inA = stored(ta, lda, K),
    inB = stored(tb, ldb, N);
  const opA = rounded(Float32Array.from({ length: M * K }, (_, e) => a * A[inA(e)]));
  const opB = rounded(Float32Array.from({ length: K * N }, (_, e) => B[inB(e)]));
  sgemm(false, false, M, N, K, 1, opA, K, opB, N, beta, C, ldc);
}
