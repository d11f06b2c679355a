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

/** An RMSNorm's parameter, input and 1/rms, kept for its backward pass. */
interface NormTape {
  param: Param;
  x: Float32Array;
  rstd: Float32Array;
}

/** A linear module and what its forward kept. */
interface Taped {
  by: Linear;
  tape: LinearTape;
}

/** The q/k norms' inputs and 1/rms (Qwen3, Gemma 3 per head; OLMo 2 over all heads). */
interface QkNormTape {
  q: NormTape;
  k: NormTape;
  /** rows and width each norm ran over */
  qShape: [number, number];
  kShape: [number, number];
}

/** What the attention block's backward needs from its forward. */
interface AttentionTape {
  inNorm: NormTape | null;
  /** q, k and v from one fused product (Phi-3), or from three */
  projection: { qkv: Taped } | { q: Taped; k: Taped; v: Taped };
  qkNorm: QkNormTape | null;
  /** q and k after norm and rope, v, the attention's output and each row's log-normaliser [B, heads, T] */
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  att: Float32Array;
  lse: Float32Array;
  validLen: Int32Array | null;
  o: Taped;
  outNorm: NormTape | null;
}

/** What the MLP block's backward needs from its forward. */
interface MlpTape {
  inNorm: NormTape | null;
  projection: { gateUp: Taped } | { gate: Taped; up: Taped };
  gate: Float32Array;
  up: Float32Array;
  down: Taped;
  outNorm: NormTape | null;
}

interface LayerTape {
  attention: AttentionTape;
  mlp: MlpTape;
}

/** One forward pass's shape, shared by its blocks. */
interface Pass {
  batch: Batch;
  B: number;
  T: number;
  N: number;
  /** where the batch starts in its sequences (the cache's length) */
  pos0: number;
  cache: KVCache | undefined;
  train: boolean;
  rng: Rng | null;
}

export interface Tape {
  batch: Batch;
  rows: Int32Array;
  layers: LayerTape[];
  /** the final norm's output, the LM head's input */
  hFinal: Float32Array;
  finalNorm: NormTape;
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
    return [out, { param: p, x, rstd }];
  }

  private normBackward(t: NormTape, dout: Float32Array, dx: Float32Array, rows: number, dim: number, acc: boolean) {
    this.k.rmsnormBackward(dx, t.param.grad, dout, t.x, this.scaleOf(t.param), t.rstd, rows, dim, acc);
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
    const pos0 = cache ? cache.length : 0;
    if (cache && cache.length + T > cache.capacity)
      throw new Error(`KV cache full: ${cache.length} + ${T} > ${cache.capacity}`);
    if (cache && cache.B !== B) throw new Error(`KV cache holds ${cache.B} sequences, batch has ${B}`);
    this.ensureRope(pos0 + T);
    const pass: Pass = { batch, B, T, N, pos0, cache, train, rng: train ? this.rng : null };

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
    const R = rows.length;
    for (const row of rows)
      if (!(row >= 0 && row < N)) throw new Error(`row ${row} asked for is outside the batch's ${N} rows (B·T)`);
    for (let li = 0; li < c.layers; li++) {
      // The top layer's output is read only at the rows asked for, by the final norm. Its MLP works row by row, and so
      // do its attention's queries and output: they run on those rows alone, its keys and values on every row (the
      // rows asked for see them). A training forward keeps the whole attention, whose backward takes every row.
      const top = li === c.layers - 1;
      const L = this.layers[li];
      const queryRows = top && !train && 2 * R <= N && L.q && L.k && L.v ? rows : null;
      const attention = this.attentionForward(li, h, pass, queryRows);
      const mlpIn =
        top && !queryRows
          ? gatherRows(attention.h, rows, d, this.layerBuffer(li, pass, "mlpRows", R * d))
          : attention.h;
      const mlp = this.mlpForward(li, mlpIn, pass, top ? R : N);
      if (attention.tape && mlp.tape) layerTapes.push({ attention: attention.tape, mlp: mlp.tape });
      else if (train) throw new Error(`layer ${li}: a training forward kept no tape`);
      h = mlp.h;
    }
    if (cache) cache.length += T;

    // final norm on the rows asked for (the top layer's output holds only those), then the LM head
    const [hFinal, finalNorm] = this.normForward(this.finalNorm, h, R, d, train ? "tape.hFinal" : "hFinal");
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
    const tape = train ? { batch, rows, layers: layerTapes, hFinal, finalNorm, capped } : null;
    return { logits, tape };
  }

  /** Backward pass from dlogits [rows, vocab]; accumulates into the gradients of the trainable parameters. */
  backward(tape: Tape, dlogits: Float32Array): void {
    const { k, config: c } = this;
    const { B, T } = tape.batch;
    const N = B * T;
    const d = c.hidden;
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
    this.normBackward(tape.finalNorm, dFinal, dSel, R, d, false);
    // the top layer's MLP ran on the rows asked for: its backward too, then its input's gradient goes to those rows
    const top = c.layers - 1;
    if (top >= 0) this.mlpBackward(tape.layers[top].mlp, dSel, R);
    const dh = this.buffer("grad.dh", N * d).fill(0);
    for (let r = 0; r < R; r++) {
      const o = tape.rows[r] * d;
      for (let i = 0; i < d; i++) dh[o + i] += dSel[r * d + i];
    }

    for (let li = top; li >= 0; li--) {
      const t = tape.layers[li];
      if (li < top) this.mlpBackward(t.mlp, dh, N);
      // the bottom layer's input gradient is read only by a training embedding or a training input norm
      const inputRead = li > 0 || !!this.embed.grad || !!t.attention.inNorm?.param.grad;
      this.attentionBackward(this.layers[li], t.attention, dh, B, T, inputRead);
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

  /** The buffer of `r` in layer li: a training forward's stay in its tape, one per layer; inference shares them. */
  private layerBuffer(li: number, pass: Pass, r: string, n: number): Float32Array {
    return this.buffer(pass.train ? `tape.${li}.${r}` : r, n);
  }

  /**
   * Attention block: h + [norm](o(attn(rope(q), rope(k), v))) of x = [norm](h); the cache, if any, grows by T. With
   * queryRows (inference, separate q, k and v projections), the block's output at those flat rows alone, in their
   * order: the keys and values are computed (and cached) for every row, the queries and the rest for those.
   */
  private attentionForward(
    li: number,
    h: Float32Array,
    pass: Pass,
    queryRows: Int32Array | null = null,
  ): { h: Float32Array; tape: AttentionTape | null } {
    const { k, config: c } = this;
    const L = this.layers[li];
    const { B, T, N, pos0, cache, train, rng } = pass;
    const d = c.hidden;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    const buf = (r: string, n: number) => this.layerBuffer(li, pass, r, n);
    const role = (r: string) => (train ? `tape.${li}.${r}` : r);
    const Nq = queryRows ? queryRows.length : N;
    if (queryRows && (train || !(L.q && L.k && L.v)))
      throw new Error(`layer ${li}: queries at chosen rows need inference and separate q, k and v projections`);

    const [x1, inNorm] = L.attnIn ? this.normForward(L.attnIn, h, N, d, role("x1")) : [h, null];
    let q: Float32Array = buf("q", Nq * qDim);
    let kk: Float32Array = buf("k", N * kvDim);
    const v: Float32Array = buf("v", N * kvDim);
    let projection: AttentionTape["projection"] | null = null;
    if (queryRows && L.q && L.k && L.v) {
      L.q.forward(k, gatherRows(x1, queryRows, d, buf("x1Rows", Nq * d)), Nq, q, false, null);
      L.k.forward(k, x1, N, kk, false, null);
      L.v.forward(k, x1, N, v, false, null);
    } else if (L.qkv) {
      const qkv = buf("qkv", N * (qDim + 2 * kvDim));
      const t = L.qkv.forward(k, x1, N, qkv, train, rng);
      splitColumnsInto(qkv, N, [q, kk, v], [qDim, kvDim, kvDim]);
      if (t) projection = { qkv: { by: L.qkv, tape: t } };
    } else if (!(L.q && L.k && L.v)) {
      throw new Error(`layer ${li} has neither fused nor separate q, k and v projections`);
    } else if (!train && this.qkvInOneProduct(L.q, L.k, L.v, x1, N, buf("qkv", N * (qDim + 2 * kvDim)), q, kk, v)) {
      // done: inference multiplied by q, k and v together
    } else {
      const tq = L.q.forward(k, x1, N, q, train, rng);
      const tk = L.k.forward(k, x1, N, kk, train, rng);
      const tv = L.v.forward(k, x1, N, v, train, rng);
      if (tq && tk && tv) projection = { q: { by: L.q, tape: tq }, k: { by: L.k, tape: tk }, v: { by: L.v, tape: tv } };
    }
    let qkNorm: QkNormTape | null = null;
    if (L.qNorm && L.kNorm) {
      // per head (Qwen3, Gemma 3) or over all heads (OLMo 2)
      const qShape: [number, number] = c.qkNorm === "head" ? [Nq * c.heads, c.headDim] : [Nq, qDim];
      const kShape: [number, number] = c.qkNorm === "head" ? [N * c.kvHeads, c.headDim] : [N, kvDim];
      const qPre = q;
      const kPre = kk;
      q = buf("qNormed", Nq * qDim);
      kk = buf("kNormed", N * kvDim);
      const rstdQ = buf("qNormed.rstd", qShape[0]);
      const rstdK = buf("kNormed.rstd", kShape[0]);
      k.rmsnormForward(q, rstdQ, qPre, this.scaleOf(L.qNorm), qShape[0], qShape[1], c.rmsEps);
      k.rmsnormForward(kk, rstdK, kPre, this.scaleOf(L.kNorm), kShape[0], kShape[1], c.rmsEps);
      qkNorm = {
        q: { param: L.qNorm, x: qPre, rstd: rstdQ },
        k: { param: L.kNorm, x: kPre, rstd: rstdK },
        qShape,
        kShape,
      };
    }
    const rope = this.ropes[L.rope];
    if (queryRows)
      queryRows.forEach((row, r) => {
        const at = q.subarray(r * qDim, (r + 1) * qDim);
        k.rope(at, 1, 1, c.heads, c.headDim, pos0 + (row % T), rope.cos, rope.sin, false);
      });
    else k.rope(q, N, T, c.heads, c.headDim, pos0, rope.cos, rope.sin, false);
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
    const att = buf("att", Nq * qDim); // every row written: one that sees no key as zeros
    const lse = train ? buf("lse", B * c.heads * T) : null;
    if (queryRows)
      // each row asked for as a query of its own, at its position, over its sequence's keys
      queryRows.forEach((row, r) => {
        const b = Math.floor(row / T);
        const at = (x: Float32Array) => x.subarray(r * qDim, (r + 1) * qDim);
        const keys = (x: Float32Array) => x.subarray(b * stride * kvDim);
        const valid = pass.batch.validLen?.subarray(b, b + 1) ?? null;
        k.attentionForward(
          at(att),
          null,
          at(q),
          keys(kvK),
          keys(kvV),
          1,
          1,
          Tk,
          c.heads,
          c.kvHeads,
          c.headDim,
          stride,
          pos0 + (row % T),
          valid,
          c.attnScale,
          L.window,
          c.attnSoftcap,
          bf16Attention(L),
        );
      });
    else
      k.attentionForward(
        att,
        lse,
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
        pass.batch.validLen,
        c.attnScale,
        L.window,
        c.attnSoftcap,
        bf16Attention(L),
      );
    const o = buf("o", Nq * d);
    const oTape = L.o.forward(k, att, Nq, o, train, rng);
    const [a, outNorm] = L.attnOut ? this.normForward(L.attnOut, o, Nq, d, role("oNormed")) : [o, null];
    const hMid = queryRows ? gatherRows(h, queryRows, d, buf("hRows", Nq * d)) : train ? buf("hMid", N * d) : h;
    if (train) hMid.set(h);
    k.addInPlace(hMid, a, Nq * d);
    const tape =
      projection && oTape && lse
        ? {
            inNorm,
            projection,
            qkNorm,
            q,
            k: kk,
            v,
            att,
            lse,
            validLen: pass.batch.validLen,
            o: { by: L.o, tape: oTape },
            outNorm,
          }
        : null;
    return { h: hMid, tape };
  }

  /**
   * The attention block's backward: dh, the gradient of its output, becomes the gradient of its input. inputRead
   * false: nothing reads that input's gradient, so the projections' products for it (and its norm's) are skipped and
   * dh keeps the output's gradient; their parameters' gradients are still accumulated.
   */
  private attentionBackward(
    L: Layer,
    t: AttentionTape,
    dh: Float32Array,
    B: number,
    T: number,
    inputRead: boolean,
  ): void {
    const { k, config: c } = this;
    const N = B * T;
    const d = c.hidden;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    let da = dh;
    if (t.outNorm) {
      da = this.buffer("grad.da", N * d);
      this.normBackward(t.outNorm, dh, da, N, d, false);
    }
    const dAtt = this.buffer("grad.dAtt", N * qDim);
    t.o.by.backward(k, t.o.tape, da, N, dAtt, false);
    const dq = this.buffer("grad.dq", N * qDim);
    const dk = this.buffer("grad.dk", N * kvDim);
    const dv = this.buffer("grad.dv", N * kvDim);
    k.attentionBackward(
      dq,
      dk,
      dv,
      dAtt,
      t.att,
      t.lse,
      t.q,
      t.k,
      t.v,
      B,
      T,
      T,
      c.heads,
      c.kvHeads,
      c.headDim,
      t.validLen,
      c.attnScale,
      L.window,
      c.attnSoftcap,
      bf16Attention(L),
    );
    const rope = this.ropes[L.rope];
    k.rope(dq, N, T, c.heads, c.headDim, 0, rope.cos, rope.sin, true);
    k.rope(dk, N, T, c.kvHeads, c.headDim, 0, rope.cos, rope.sin, true);
    let dqIn = dq;
    let dkIn = dk;
    if (t.qkNorm) {
      const { q, k: kn, qShape, kShape } = t.qkNorm;
      dqIn = this.buffer("grad.dqIn", N * qDim);
      dkIn = this.buffer("grad.dkIn", N * kvDim);
      this.normBackward(q, dq, dqIn, qShape[0], qShape[1], false);
      this.normBackward(kn, dk, dkIn, kShape[0], kShape[1], false);
    }
    const dx1 = inputRead ? this.buffer("grad.dx1", N * d) : null;
    const p = t.projection;
    if ("qkv" in p)
      p.qkv.by.backward(k, p.qkv.tape, joinColumns([dqIn, dkIn, dv], N, [qDim, kvDim, kvDim]), N, dx1, false);
    else {
      p.q.by.backward(k, p.q.tape, dqIn, N, dx1, false);
      p.k.by.backward(k, p.k.tape, dkIn, N, dx1, true);
      p.v.by.backward(k, p.v.tape, dv, N, dx1, true);
    }
    if (!dx1) return;
    if (t.inNorm) this.normBackward(t.inNorm, dx1, dh, N, d, true);
    else k.addInPlace(dh, dx1, N * d);
  }

  /**
   * Inference's q, k and v in one product where their F32 weights lie row after row in one buffer (as the
   * constructor places them), then each one's bias and adapter; false (nothing done) where they do not.
   */
  private qkvInOneProduct(
    q: Linear,
    k: Linear,
    v: Linear,
    x: Float32Array,
    N: number,
    qkv: Float32Array,
    qOut: Float32Array,
    kOut: Float32Array,
    vOut: Float32Array,
  ): boolean {
    if (!adjacentRows([q.weight, k.weight, v.weight])) return false;
    const d = this.config.hidden;
    const width = q.outFeatures + k.outFeatures + v.outFeatures;
    const W = q.weight.data;
    const rows = new Float32Array(W.buffer, W.byteOffset, width * d);
    this.k.sgemm(false, true, N, width, d, 1, x, d, rows, d, 0, qkv, width);
    splitColumnsInto(qkv, N, [qOut, kOut, vOut], [q.outFeatures, k.outFeatures, v.outFeatures]);
    q.finishInference(this.k, x, N, qOut);
    k.finishInference(this.k, x, N, kOut);
    v.finishInference(this.k, x, N, vOut);
    return true;
  }

  /**
   * The MLP block, h + [norm](down(act(gate(x)) · up(x))) of x = [norm](h), over N rows of h (the pass's rows, or the
   * top layer's rows asked for).
   */
  private mlpForward(li: number, h: Float32Array, pass: Pass, N: number): { h: Float32Array; tape: MlpTape | null } {
    const { k, config: c } = this;
    const L = this.layers[li];
    const { train, rng } = pass;
    const d = c.hidden;
    const I = c.intermediate;
    const buf = (r: string, n: number) => this.layerBuffer(li, pass, r, n);
    const [x2, inNorm] = L.mlpIn ? this.normForward(L.mlpIn, h, N, d, train ? `tape.${li}.x2` : "x2") : [h, null];
    const gate: Float32Array = buf("gate", N * I);
    const up: Float32Array = buf("up", N * I);
    let projection: MlpTape["projection"] | null = null;
    if (L.gateUp) {
      const gu = buf("gateUp", N * 2 * I);
      const t = L.gateUp.forward(k, x2, N, gu, train, rng);
      splitColumnsInto(gu, N, [gate, up], [I, I]);
      if (t) projection = { gateUp: { by: L.gateUp, tape: t } };
    } else if (L.gate && L.up) {
      const tg = L.gate.forward(k, x2, N, gate, train, rng);
      const tu = L.up.forward(k, x2, N, up, train, rng);
      if (tg && tu) projection = { gate: { by: L.gate, tape: tg }, up: { by: L.up, tape: tu } };
    } else throw new Error(`layer ${li} has neither fused nor separate gate and up projections`);
    const act = buf("act", N * I);
    if (c.activation === "silu") k.swigluForward(act, gate, up, N * I);
    else k.gegluForward(act, gate, up, N * I);
    const m = buf("m", N * d);
    const downTape = L.down.forward(k, act, N, m, train, rng);
    const [m2, outNorm] = L.mlpOut
      ? this.normForward(L.mlpOut, m, N, d, train ? `tape.${li}.mNormed` : "mNormed")
      : [m, null];
    const hOut = train ? buf("hOut", N * d) : h;
    if (train) hOut.set(h);
    k.addInPlace(hOut, m2, N * d);
    const tape =
      projection && downTape ? { inNorm, projection, gate, up, down: { by: L.down, tape: downTape }, outNorm } : null;
    return { h: hOut, tape };
  }

  /** The MLP block's backward: dh, the gradient of its output, becomes the gradient of its input. */
  private mlpBackward(t: MlpTape, dh: Float32Array, N: number): void {
    const { k, config: c } = this;
    const d = c.hidden;
    const I = c.intermediate;
    let dm = dh;
    if (t.outNorm) {
      dm = this.buffer("grad.dm", N * d);
      this.normBackward(t.outNorm, dh, dm, N, d, false);
    }
    const dAct = this.buffer("grad.dAct", N * I);
    t.down.by.backward(k, t.down.tape, dm, N, dAct, false);
    const dGate = this.buffer("grad.dGate", N * I);
    const dUp = this.buffer("grad.dUp", N * I);
    if (c.activation === "silu") k.swigluBackward(dGate, dUp, dAct, t.gate, t.up, N * I);
    else k.gegluBackward(dGate, dUp, dAct, t.gate, t.up, N * I);
    const dx2 = this.buffer("grad.dx2", N * d);
    const p = t.projection;
    if ("gateUp" in p) p.gateUp.by.backward(k, p.gateUp.tape, joinColumns([dGate, dUp], N, [I, I]), N, dx2, false);
    else {
      p.gate.by.backward(k, p.gate.tape, dGate, N, dx2, false);
      p.up.by.backward(k, p.up.tape, dUp, N, dx2, true);
    }
    if (t.inNorm) this.normBackward(t.inNorm, dx2, dh, N, d, true);
    else k.addInPlace(dh, dx2, N * d);
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

/**
 * Whether a layer's attention rounds to BF16 where the CPU has BF16 dot products: a BF16 model's (its scores, its
 * weighted sums of values and its gradients' products), as its BF16 weights' products round their activations.
 */
function bf16Attention(L: Layer): boolean {
  return L.o.weight.half?.dtype === "BF16";
}

/** Rows `rows` of x [?, width], in that order, into out [rows.length, width]. */
function gatherRows(x: Float32Array, rows: Int32Array, width: number, out: Float32Array): Float32Array {
  for (let r = 0; r < rows.length; r++) out.set(x.subarray(rows[r] * width, (rows[r] + 1) * width), r * width);
  return out;
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
