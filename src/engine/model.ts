/**
 * The decoder-only transformer of every family crossmon loads (Llama, Qwen2, Qwen3, Mistral, Gemma 2, Gemma 3, Phi-3,
 * OLMo 2), with a hand-written backward pass. A block is attention then MLP, each with a residual; the families
 * differ in where the norms sit, the MLP's activation, fused projections, q/k norms, sliding windows and soft caps,
 * all read from ModelConfig. Each block's forward sits above its backward, so one layer reads top to bottom.
 *
 * Batches are right-padded: sequence b has validLen[b] real tokens at positions 0..validLen[b]-1. Logits are
 * computed only for the rows asked for (the answer token of a classifier, the weighted tokens of a training batch),
 * which spares the LM head most of its work.
 */
import type { ModelConfig } from "./config.js";
import { kernels as defaultKernels, type Kernels } from "./kernels/index.js";
import { Linear, type LinearTape } from "./linear.js";
import { makeParam, type Param } from "./params.js";
import { Rng } from "../core/random.js";
import { ropeTables, type RopeTables } from "./rope.js";
import { copyRow, matmulW, matmulWT } from "./weights.js";

export interface Batch {
  /** [B·T] token ids, right-padded */
  tokens: Int32Array;
  B: number;
  T: number;
  /** real tokens per sequence; null = all T */
  validLen: Int32Array | null;
}

interface Layer {
  /** norm before attention (input_layernorm), absent in OLMo 2's post-norm blocks */
  attnIn: Param | null;
  /** norm of the attention output before the residual (Gemma, OLMo 2) */
  attnOut: Param | null;
  /** norm before the MLP (Llama's post_attention_layernorm, Gemma's pre_feedforward_layernorm) */
  mlpIn: Param | null;
  /** norm of the MLP output before the residual (Gemma, OLMo 2) */
  mlpOut: Param | null;
  qNorm: Param | null;
  kNorm: Param | null;
  /** q, k, v projections; one fused projection (Phi-3's qkv_proj) in `qkv` instead */
  q: Linear | null;
  k: Linear | null;
  v: Linear | null;
  qkv: Linear | null;
  o: Linear;
  gate: Linear | null;
  up: Linear | null;
  gateUp: Linear | null;
  down: Linear;
  window: number;
  rope: "full" | "local";
}

/** An RMSNorm's input and 1/rms, kept for its backward pass. */
interface NormTape {
  x: Float32Array;
  rstd: Float32Array;
}

interface LayerTape {
  attnIn: NormTape | null;
  qPre: Float32Array | null;
  kPre: Float32Array | null;
  rstdQ: Float32Array | null;
  rstdK: Float32Array | null;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  probs: Float32Array;
  attnOut: NormTape | null;
  mlpIn: NormTape | null;
  gate: Float32Array;
  up: Float32Array;
  mlpOut: NormTape | null;
  lin: Record<string, LinearTape>;
}

export interface Tape {
  batch: Batch;
  rows: Int32Array;
  layers: LayerTape[];
  hFinal: Float32Array;
  rstdF: Float32Array;
  hSel: Float32Array;
  /** the soft-capped logits (Gemma 2), for the cap's backward */
  capped: Float32Array | null;
}

/** Keys and values of past positions, per layer: [B, capacity, kvHeads·headDim]. */
export class KVCache {
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  length = 0;
  constructor(
    readonly config: ModelConfig,
    readonly B: number,
    readonly capacity: number,
  ) {
    const n = B * capacity * config.kvHeads * config.headDim;
    this.k = Array.from({ length: config.layers }, () => new Float32Array(n));
    this.v = Array.from({ length: config.layers }, () => new Float32Array(n));
  }
}

/** The linear modules of the Llama layout, as PEFT's target_modules names them. */
export const LINEAR_NAMES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
/** Phi-3's, with its fused projections. */
export const FUSED_LINEAR_NAMES = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"] as const;

/** The module names LoRA can target in a model of this config (PEFT's target_modules). */
export function linearNamesOf(c: ModelConfig): readonly string[] {
  return c.fusedProjections ? FUSED_LINEAR_NAMES : LINEAR_NAMES;
}

export class Transformer {
  readonly params = new Map<string, Param>();
  readonly embed: Param;
  readonly lmHead: Param;
  readonly finalNorm: Param;
  readonly layers: Layer[] = [];
  private ropes: Record<"full" | "local", RopeTables>;
  /** used for LoRA dropout; its state is saved with training checkpoints */
  rng = new Rng(0);
  /**
   * Activations and gradients by role, reused by every call: fresh arrays of megabytes cost a page fault per 4 KiB
   * on first touch (a tenth of a prefill, half of a training step's forward), and one per token when decoding. An
   * inference forward's roles are shared by all layers; a training forward's are per layer, since its tape keeps
   * them for the backward pass (until the next training forward); the backward's temporaries are shared again.
   */
  private readonly scratch = new Map<string, Float32Array>();

  constructor(
    readonly config: ModelConfig,
    readonly k: Kernels = defaultKernels(),
  ) {
    const c = config;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    const one = c.normOffset ? 0 : 1; // a norm that leaves its input as it is
    this.embed = this.add("model.embed_tokens.weight", [c.vocabSize, c.hidden]);
    const fused = c.fusedProjections;
    for (let i = 0; i < c.layers; i++) {
      const p = `model.layers.${i}`;
      const lin = (name: string, inF: number, outF: number, bias: boolean, data?: Float32Array) =>
        new Linear(
          `${p}.${name}`,
          inF,
          outF,
          this.add(`${p}.${name}.weight`, [outF, inF], undefined, data),
          bias ? this.add(`${p}.${name}.bias`, [outF]) : null,
        );
      // q, k and v weights side by side in one buffer, so that inference multiplies by all three in one product
      const qkvRows = fused ? null : new Float32Array((qDim + 2 * kvDim) * c.hidden);
      const rowsOf = (from: number, n: number) => qkvRows?.subarray(from * c.hidden, (from + n) * c.hidden);
      const norm = (name: string, dim = c.hidden) => this.add(`${p}.${name}.weight`, [dim], one);
      const I = c.intermediate;
      const qkNormDims = c.qkNorm === "head" ? [c.headDim, c.headDim] : [qDim, kvDim];
      this.layers.push({
        attnIn: c.normLayout === "post" ? null : norm("input_layernorm"),
        attnOut: c.normLayout === "pre" ? null : norm("post_attention_layernorm"),
        mlpIn:
          c.normLayout === "pre"
            ? norm("post_attention_layernorm")
            : c.normLayout === "sandwich"
              ? norm("pre_feedforward_layernorm")
              : null,
        mlpOut: c.normLayout === "pre" ? null : norm("post_feedforward_layernorm"),
        qNorm: c.qkNorm === "none" ? null : norm("self_attn.q_norm", qkNormDims[0]),
        kNorm: c.qkNorm === "none" ? null : norm("self_attn.k_norm", qkNormDims[1]),
        q: fused ? null : lin("self_attn.q_proj", c.hidden, qDim, c.qkvBias, rowsOf(0, qDim)),
        k: fused ? null : lin("self_attn.k_proj", c.hidden, kvDim, c.qkvBias, rowsOf(qDim, kvDim)),
        v: fused ? null : lin("self_attn.v_proj", c.hidden, kvDim, c.qkvBias, rowsOf(qDim + kvDim, kvDim)),
        qkv: fused ? lin("self_attn.qkv_proj", c.hidden, qDim + 2 * kvDim, c.qkvBias) : null,
        o: lin("self_attn.o_proj", qDim, c.hidden, c.oBias),
        gate: fused ? null : lin("mlp.gate_proj", c.hidden, I, c.mlpBias),
        up: fused ? null : lin("mlp.up_proj", c.hidden, I, c.mlpBias),
        gateUp: fused ? lin("mlp.gate_up_proj", c.hidden, 2 * I, c.mlpBias) : null,
        down: lin("mlp.down_proj", I, c.hidden, c.mlpBias),
        window: c.windows[i] ?? 0,
        rope: c.localRope && c.windows[i] ? "local" : "full",
      });
    }
    this.finalNorm = this.add("model.norm.weight", [c.hidden], one);
    this.lmHead = c.tieEmbeddings ? this.embed : this.add("lm_head.weight", [c.vocabSize, c.hidden]);
    const maxPos = Math.min(c.maxPositions, 4096);
    const full = ropeTables({ theta: c.ropeTheta, scaling: c.ropeScaling }, c.headDim, maxPos);
    this.ropes = { full, local: c.localRope ? ropeTables(c.localRope, c.headDim, maxPos) : full };
  }

  private add(name: string, shape: number[], fill?: number, data?: Float32Array): Param {
    const p = makeParam(name, shape, data);
    if (fill !== undefined) p.data.fill(fill);
    this.params.set(name, p);
    return p;
  }

  linears(): Linear[] {
    return this.layers.flatMap((l) =>
      [l.q, l.k, l.v, l.qkv, l.o, l.gate, l.up, l.gateUp, l.down].filter((x): x is Linear => x !== null),
    );
  }

  linearNames(): readonly string[] {
    return linearNamesOf(this.config);
  }

  /** Parameters that own a gradient buffer (base weights in full fine-tuning, LoRA A/B with LoRA). */
  trainableParams(): Param[] {
    const out = [...this.params.values()].filter((p) => p.grad);
    for (const l of this.linears()) if (l.lora) for (const p of [l.lora.A, l.lora.B]) if (p.grad) out.push(p);
    return out;
  }

  private ensureRope(maxPos: number): void {
    const c = this.config;
    if (maxPos <= this.ropes.full.maxPos) return;
    const n = Math.max(maxPos, this.ropes.full.maxPos * 2);
    const full = ropeTables({ theta: c.ropeTheta, scaling: c.ropeScaling }, c.headDim, n);
    this.ropes = { full, local: c.localRope ? ropeTables(c.localRope, c.headDim, n) : full };
  }

  /** A norm's scale as the kernels apply it: w, or 1 + w where the family stores the offset (Gemma). */
  private scaleOf(p: Param): Float32Array {
    if (!this.config.normOffset) return p.data;
    const w = new Float32Array(p.data.length);
    for (let i = 0; i < w.length; i++) w[i] = 1 + p.data[i];
    return w;
  }

  /** n floats for `role`: the role's reused buffer (its contents are stale). */
  private buffer(role: string, n: number): Float32Array {
    let b = this.scratch.get(role);
    if (!b || b.length < n) {
      b = new Float32Array(n);
      this.scratch.set(role, b);
    }
    return b.subarray(0, n);
  }

  /** Lets go of the reused buffers (after training, whose tapes would otherwise stay in memory). */
  releaseScratch(): void {
    this.scratch.clear();
  }

  private normForward(p: Param, x: Float32Array, rows: number, dim: number, role: string): [Float32Array, NormTape] {
    const out = this.buffer(role, rows * dim);
    const rstd = this.buffer(`${role}.rstd`, rows);
    this.k.rmsnormForward(out, rstd, x, this.scaleOf(p), rows, dim, this.config.rmsEps);
    return [out, { x, rstd }];
  }

  private normBackward(
    p: Param,
    t: NormTape,
    dout: Float32Array,
    dx: Float32Array,
    rows: number,
    dim: number,
    acc: boolean,
  ) {
    this.k.rmsnormBackward(dx, p.grad, dout, t.x, this.scaleOf(p), t.rstd, rows, dim, acc);
  }

  /**
   * Forward pass. Returns logits [rows.length, vocab] for the flat rows b·T + t asked for, and, when training, the
   * tape the backward pass needs (a training forward's logits and tape live until the next training forward). With a
   * cache, the batch continues the cached sequences (all of the same length).
   */
  forward(
    batch: Batch,
    rows: Int32Array,
    opts: { train?: boolean; cache?: KVCache } = {},
  ): { logits: Float32Array; tape: Tape | null } {
    const { k, config: c } = this;
    const train = opts.train ?? false;
    const cache = opts.cache;
    const { B, T } = batch;
    const N = B * T;
    const d = c.hidden;
    const I = c.intermediate;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    const pos0 = cache ? cache.length : 0;
    if (cache && cache.length + T > cache.capacity)
      throw new Error(`KV cache full: ${cache.length} + ${T} > ${cache.capacity}`);
    if (cache && cache.B !== B) throw new Error(`KV cache holds ${cache.B} sequences, batch has ${B}`);
    this.ensureRope(pos0 + T);

    // embedding (Gemma scales it by √hidden)
    let h = this.buffer(train ? "tape.h" : "h", N * d);
    for (let i = 0; i < N; i++) {
      const t = batch.tokens[i];
      if (t < 0 || t >= c.vocabSize)
        throw new Error(`token id ${t} at position ${i} is outside the vocabulary (${c.vocabSize})`);
      copyRow(this.embed, t, h, i * d);
    }
    if (c.embedScale !== 1) k.scaleInPlace(h, c.embedScale, N * d);

    const layerTapes: LayerTape[] = [];
    const rng = train ? this.rng : null;
    for (let li = 0; li < c.layers; li++) {
      const L = this.layers[li];
      // a training forward's activations stay in its tape: each layer has its own
      const role = (r: string) => (train ? `tape.${li}.${r}` : r);
      const buf = (r: string, n: number) => this.buffer(role(r), n);
      const lin: Record<string, LinearTape> = {};
      const keep = (name: string, t: LinearTape | null) => {
        if (t) lin[name] = t;
      };
      // --- attention block: h = h + [norm](o(attn(rope(q), rope(k), v))) of x = [norm](h)
      const [x1, attnIn] = L.attnIn ? this.normForward(L.attnIn, h, N, d, role("x1")) : [h, null];
      let q: Float32Array = buf("q", N * qDim);
      let kk: Float32Array = buf("k", N * kvDim);
      const v: Float32Array = buf("v", N * kvDim);
      if (L.qkv) {
        const qkv = buf("qkv", N * (qDim + 2 * kvDim));
        keep("qkv", L.qkv.forward(k, x1, N, qkv, train, rng));
        splitColumnsInto(qkv, N, [q, kk, v], [qDim, kvDim, kvDim]);
      } else if (!train && L.q && L.k && L.v && adjacentRows([L.q.weight, L.k.weight, L.v.weight])) {
        const qkv = buf("qkv", N * (qDim + 2 * kvDim));
        const W = L.q.weight.data;
        k.sgemm(
          false,
          true,
          N,
          qDim + 2 * kvDim,
          d,
          1,
          x1,
          d,
          new Float32Array(W.buffer, W.byteOffset, (qDim + 2 * kvDim) * d),
          d,
          0,
          qkv,
          qDim + 2 * kvDim,
        );
        splitColumnsInto(qkv, N, [q, kk, v], [qDim, kvDim, kvDim]);
        L.q.finishInference(k, x1, N, q);
        L.k.finishInference(k, x1, N, kk);
        L.v.finishInference(k, x1, N, v);
      } else {
        keep("q", L.q?.forward(k, x1, N, q, train, rng) ?? null);
        keep("k", L.k?.forward(k, x1, N, kk, train, rng) ?? null);
        keep("v", L.v?.forward(k, x1, N, v, train, rng) ?? null);
      }
      let qPre: Float32Array | null = null;
      let kPre: Float32Array | null = null;
      let rstdQ: Float32Array | null = null;
      let rstdK: Float32Array | null = null;
      if (L.qNorm && L.kNorm) {
        // per head (Qwen3, Gemma 3) or over all heads (OLMo 2)
        const [qRows, qd, kRows, kd] =
          c.qkNorm === "head" ? [N * c.heads, c.headDim, N * c.kvHeads, c.headDim] : [N, qDim, N, kvDim];
        qPre = q;
        kPre = kk;
        q = buf("qNormed", N * qDim);
        kk = buf("kNormed", N * kvDim);
        rstdQ = buf("qNormed.rstd", qRows);
        rstdK = buf("kNormed.rstd", kRows);
        k.rmsnormForward(q, rstdQ, qPre, this.scaleOf(L.qNorm), qRows, qd, c.rmsEps);
        k.rmsnormForward(kk, rstdK, kPre, this.scaleOf(L.kNorm), kRows, kd, c.rmsEps);
      }
      const rope = this.ropes[L.rope];
      k.rope(q, N, T, c.heads, c.headDim, pos0, rope.cos, rope.sin, false);
      k.rope(kk, N, T, c.kvHeads, c.headDim, pos0, rope.cos, rope.sin, false);
      let kvK: Float32Array = kk;
      let kvV: Float32Array = v;
      let Tk = T;
      let stride = T;
      if (cache) {
        for (let b = 0; b < B; b++) {
          cache.k[li].set(kk.subarray(b * T * kvDim, (b + 1) * T * kvDim), (b * cache.capacity + pos0) * kvDim);
          cache.v[li].set(v.subarray(b * T * kvDim, (b + 1) * T * kvDim), (b * cache.capacity + pos0) * kvDim);
        }
        kvK = cache.k[li];
        kvV = cache.v[li];
        Tk = pos0 + T;
        stride = cache.capacity;
      }
      const att = buf("att", N * qDim); // every row written: one that sees no key as zeros
      const probs = train ? buf("probs", B * c.heads * T * Tk) : null;
      k.attentionForward(
        att,
        probs,
        q,
        kvK,
        kvV,
        B,
        T,
        Tk,
        c.heads,
        c.kvHeads,
        c.headDim,
        stride,
        pos0,
        batch.validLen,
        c.attnScale,
        L.window,
        c.attnSoftcap,
      );
      const o = buf("o", N * d);
      keep("o", L.o.forward(k, att, N, o, train, rng));
      const [a, attnOut] = L.attnOut ? this.normForward(L.attnOut, o, N, d, role("oNormed")) : [o, null];
      const hMid = train ? buf("hMid", N * d) : h;
      if (train) hMid.set(h);
      k.addInPlace(hMid, a, N * d);

      // --- MLP block: h = h + [norm](down(act(gate(x)) · up(x))) of x = [norm](h)
      const [x2, mlpIn] = L.mlpIn ? this.normForward(L.mlpIn, hMid, N, d, role("x2")) : [hMid, null];
      const gate: Float32Array = buf("gate", N * I);
      const up: Float32Array = buf("up", N * I);
      if (L.gateUp) {
        const gu = buf("gateUp", N * 2 * I);
        keep("gateUp", L.gateUp.forward(k, x2, N, gu, train, rng));
        splitColumnsInto(gu, N, [gate, up], [I, I]);
      } else {
        keep("gate", L.gate?.forward(k, x2, N, gate, train, rng) ?? null);
        keep("up", L.up?.forward(k, x2, N, up, train, rng) ?? null);
      }
      const act = buf("act", N * I);
      if (c.activation === "silu") k.swigluForward(act, gate, up, N * I);
      else k.gegluForward(act, gate, up, N * I);
      const m = buf("m", N * d);
      keep("down", L.down.forward(k, act, N, m, train, rng));
      const [m2, mlpOut] = L.mlpOut ? this.normForward(L.mlpOut, m, N, d, role("mNormed")) : [m, null];
      const hOut = train ? buf("hOut", N * d) : hMid;
      if (train) hOut.set(hMid);
      k.addInPlace(hOut, m2, N * d);
      if (train && probs) {
        layerTapes.push({
          attnIn,
          qPre,
          kPre,
          rstdQ,
          rstdK,
          q,
          k: kk,
          v,
          probs,
          attnOut,
          mlpIn,
          gate,
          up,
          mlpOut,
          lin,
        });
      }
      h = hOut;
    }
    if (cache) cache.length += T;

    // final norm on the rows asked for, then the LM head
    const R = rows.length;
    const hSel = this.buffer(train ? "tape.hSel" : "hSel", R * d);
    for (let r = 0; r < R; r++) hSel.set(h.subarray(rows[r] * d, (rows[r] + 1) * d), r * d);
    const hFinal = this.buffer(train ? "tape.hFinal" : "hFinal", R * d);
    const rstdF = this.buffer(train ? "tape.rstdF" : "rstdF", R);
    k.rmsnormForward(hFinal, rstdF, hSel, this.scaleOf(this.finalNorm), R, d, c.rmsEps);
    // a training step's logits become its gradient in place and are done with before the next step: reused like
    // the tape (tens of megabytes of fresh pages cost more than the LM head's product here); inference hands the
    // caller its own array
    const logits = train ? this.buffer("tape.logits", R * c.vocabSize) : new Float32Array(R * c.vocabSize);
    matmulWT(k, hFinal, R, this.lmHead, logits);
    let capped: Float32Array | null = null;
    if (c.finalSoftcap) {
      const cap = c.finalSoftcap;
      for (let i = 0; i < logits.length; i++) logits[i] = cap * Math.tanh(logits[i] / cap);
      if (train) capped = logits.slice();
    }
    const tape = train ? { batch, rows, layers: layerTapes, hFinal, rstdF, hSel, capped } : null;
    return { logits, tape };
  }

  /** Backward pass from dlogits [rows, vocab]; accumulates into the gradients of the trainable parameters. */
  backward(tape: Tape, dlogits: Float32Array): void {
    const { k, config: c } = this;
    const { B, T } = tape.batch;
    const N = B * T;
    const d = c.hidden;
    const I = c.intermediate;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    const R = tape.rows.length;

    // soft cap, LM head and final norm
    if (tape.capped) {
      const cap = c.finalSoftcap;
      for (let i = 0; i < dlogits.length; i++) {
        const t = tape.capped[i] / cap;
        dlogits[i] *= 1 - t * t;
      }
    }
    if (this.lmHead.grad)
      k.sgemm(true, false, c.vocabSize, d, R, 1, dlogits, c.vocabSize, tape.hFinal, d, 1, this.lmHead.grad, d);
    const dFinal = this.buffer("grad.dFinal", R * d);
    matmulW(k, dlogits, R, this.lmHead, dFinal, false);
    const dSel = this.buffer("grad.dSel", R * d);
    this.normBackward(this.finalNorm, { x: tape.hSel, rstd: tape.rstdF }, dFinal, dSel, R, d, false);
    const dh = this.buffer("grad.dh", N * d).fill(0);
    for (let r = 0; r < R; r++) {
      const o = tape.rows[r] * d;
      for (let i = 0; i < d; i++) dh[o + i] += dSel[r * d + i];
    }

    for (let li = c.layers - 1; li >= 0; li--) {
      const L = this.layers[li];
      const t = tape.layers[li];
      // --- MLP block backward; dh is the gradient of this layer's output
      let dm = dh;
      if (L.mlpOut && t.mlpOut) {
        dm = this.buffer("grad.dm", N * d);
        this.normBackward(L.mlpOut, t.mlpOut, dh, dm, N, d, false);
      }
      const dAct = this.buffer("grad.dAct", N * I);
      L.down.backward(k, t.lin.down, dm, N, dAct, false);
      const dGate = this.buffer("grad.dGate", N * I);
      const dUp = this.buffer("grad.dUp", N * I);
      if (c.activation === "silu") k.swigluBackward(dGate, dUp, dAct, t.gate, t.up, N * I);
      else k.gegluBackward(dGate, dUp, dAct, t.gate, t.up, N * I);
      const dx2 = this.buffer("grad.dx2", N * d);
      if (L.gateUp) L.gateUp.backward(k, t.lin.gateUp, joinColumns([dGate, dUp], N, [I, I]), N, dx2, false);
      else {
        L.gate?.backward(k, t.lin.gate, dGate, N, dx2, false);
        L.up?.backward(k, t.lin.up, dUp, N, dx2, true);
      }
      if (L.mlpIn && t.mlpIn) this.normBackward(L.mlpIn, t.mlpIn, dx2, dh, N, d, true);
      else k.addInPlace(dh, dx2, N * d);

      // --- attention block backward; dh is now the gradient of hMid
      let da = dh;
      if (L.attnOut && t.attnOut) {
        da = this.buffer("grad.da", N * d);
        this.normBackward(L.attnOut, t.attnOut, dh, da, N, d, false);
      }
      const dAtt = this.buffer("grad.dAtt", N * qDim);
      L.o.backward(k, t.lin.o, da, N, dAtt, false);
      const dq = this.buffer("grad.dq", N * qDim);
      const dk = this.buffer("grad.dk", N * kvDim);
      const dv = this.buffer("grad.dv", N * kvDim);
      k.attentionBackward(
        dq,
        dk,
        dv,
        dAtt,
        t.probs,
        t.q,
        t.k,
        t.v,
        B,
        T,
        T,
        c.heads,
        c.kvHeads,
        c.headDim,
        c.attnScale,
        L.window,
        c.attnSoftcap,
      );
      const rope = this.ropes[L.rope];
      k.rope(dq, N, T, c.heads, c.headDim, 0, rope.cos, rope.sin, true);
      k.rope(dk, N, T, c.kvHeads, c.headDim, 0, rope.cos, rope.sin, true);
      let dqIn = dq;
      let dkIn = dk;
      if (L.qNorm && L.kNorm && t.qPre && t.kPre && t.rstdQ && t.rstdK) {
        const [qRows, qd, kRows, kd] =
          c.qkNorm === "head" ? [N * c.heads, c.headDim, N * c.kvHeads, c.headDim] : [N, qDim, N, kvDim];
        dqIn = this.buffer("grad.dqIn", N * qDim);
        dkIn = this.buffer("grad.dkIn", N * kvDim);
        this.normBackward(L.qNorm, { x: t.qPre, rstd: t.rstdQ }, dq, dqIn, qRows, qd, false);
        this.normBackward(L.kNorm, { x: t.kPre, rstd: t.rstdK }, dk, dkIn, kRows, kd, false);
      }
      const dx1 = this.buffer("grad.dx1", N * d);
      if (L.qkv) L.qkv.backward(k, t.lin.qkv, joinColumns([dqIn, dkIn, dv], N, [qDim, kvDim, kvDim]), N, dx1, false);
      else {
        L.q?.backward(k, t.lin.q, dqIn, N, dx1, false);
        L.k?.backward(k, t.lin.k, dkIn, N, dx1, true);
        L.v?.backward(k, t.lin.v, dv, N, dx1, true);
      }
      if (L.attnIn && t.attnIn) this.normBackward(L.attnIn, t.attnIn, dx1, dh, N, d, true);
      else k.addInPlace(dh, dx1, N * d);
    }

    // embedding
    const gE = this.embed.grad;
    if (gE) {
      const s = c.embedScale;
      for (let i = 0; i < N; i++) {
        const tok = tape.batch.tokens[i];
        const o = tok * d;
        for (let j = 0; j < d; j++) gE[o + j] += dh[i * d + j] * s;
      }
    }
  }

  /** Random initialisation: normal(0, std) for matrices, norms at identity, zeros for biases. */
  initRandom(seed: number, std = 0.02): void {
    const rng = new Rng(seed);
    for (const p of this.params.values()) {
      if (p.name.endsWith("norm.weight") || p.name.endsWith("layernorm.weight"))
        p.data.fill(this.config.normOffset ? 0 : 1);
      else if (p.name.endsWith(".bias")) p.data.fill(0);
      else for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal() * std;
    }
  }
}

/** Whether the F32 weights follow each other in one buffer, row after row (then one product computes them all). */
function adjacentRows(ws: Param[]): boolean {
  return ws.every(
    (w, i) =>
      !w.half &&
      (i === 0 ||
        (w.data.buffer === ws[i - 1].data.buffer &&
          w.data.byteOffset === ws[i - 1].data.byteOffset + ws[i - 1].data.byteLength)),
  );
}

/** Splits rows of [N, Σ widths] into one [N, width] array per part (a fused projection's outputs). */
function splitColumnsInto(x: Float32Array, N: number, out: Float32Array[], widths: number[]): void {
  const total = widths.reduce((a, b) => a + b, 0);
  for (let r = 0; r < N; r++) {
    let off = 0;
    widths.forEach((w, i) => {
      out[i].set(x.subarray(r * total + off, r * total + off + w), r * w);
      off += w;
    });
  }
}

/** The inverse of splitColumnsInto: parts side by side in each row. */
function joinColumns(parts: Float32Array[], N: number, widths: number[]): Float32Array {
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(N * total);
  for (let r = 0; r < N; r++) {
    let off = 0;
    widths.forEach((w, i) => {
      out.set(parts[i].subarray(r * w, (r + 1) * w), r * total + off);
      off += w;
    });
  }
  return out;
}
