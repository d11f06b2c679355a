/**
 * The decoder-only transformer of the Llama family (Llama, Qwen2, Qwen3), with a hand-written backward pass.
 * Each block's forward sits above its backward, so one layer reads top to bottom (llm.c style).
 *
 * Batches are right-padded: sequence b has validLen[b] real tokens at positions 0..validLen[b]-1. Logits are
 * computed only for the rows asked for (the answer token of a classifier, the weighted tokens of a training batch),
 * which spares the LM head most of its work.
 */
import type { ModelConfig } from "./config.js";
import { kernels as defaultKernels, type Kernels } from "./kernels/index.js";
import { Linear, type LinearTape } from "./linear.js";
import { makeParam, type Param } from "./params.js";
import { Rng } from "./random.js";
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
  inputNorm: Param;
  postNorm: Param;
  qNorm: Param | null;
  kNorm: Param | null;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  gate: Linear;
  up: Linear;
  down: Linear;
}

interface LayerTape {
  hIn: Float32Array;
  xn1: Float32Array;
  rstd1: Float32Array;
  qPre: Float32Array | null;
  kPre: Float32Array | null;
  rstdQ: Float32Array | null;
  rstdK: Float32Array | null;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  probs: Float32Array;
  att: Float32Array;
  hMid: Float32Array;
  xn2: Float32Array;
  rstd2: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  act: Float32Array;
  lin: Record<string, LinearTape>;
}

export interface Tape {
  batch: Batch;
  rows: Int32Array;
  layers: LayerTape[];
  hFinal: Float32Array;
  rstdF: Float32Array;
  hSel: Float32Array;
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

export const LINEAR_NAMES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
export type LinearName = (typeof LINEAR_NAMES)[number];

export class Transformer {
  readonly params = new Map<string, Param>();
  readonly embed: Param;
  readonly lmHead: Param;
  readonly finalNorm: Param;
  readonly layers: Layer[] = [];
  private rope: RopeTables;
  /** used for LoRA dropout; its state is saved with training checkpoints */
  rng = new Rng(0);

  constructor(
    readonly config: ModelConfig,
    readonly k: Kernels = defaultKernels(),
  ) {
    const c = config;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    this.embed = this.add("model.embed_tokens.weight", [c.vocabSize, c.hidden]);
    for (let i = 0; i < c.layers; i++) {
      const p = `model.layers.${i}`;
      const lin = (name: string, inF: number, outF: number, bias: boolean) =>
        new Linear(
          `${p}.${name}`,
          inF,
          outF,
          this.add(`${p}.${name}.weight`, [outF, inF]),
          bias ? this.add(`${p}.${name}.bias`, [outF]) : null,
        );
      this.layers.push({
        inputNorm: this.add(`${p}.input_layernorm.weight`, [c.hidden], 1),
        postNorm: this.add(`${p}.post_attention_layernorm.weight`, [c.hidden], 1),
        qNorm: c.qkNorm ? this.add(`${p}.self_attn.q_norm.weight`, [c.headDim], 1) : null,
        kNorm: c.qkNorm ? this.add(`${p}.self_attn.k_norm.weight`, [c.headDim], 1) : null,
        q: lin("self_attn.q_proj", c.hidden, qDim, c.qkvBias),
        k: lin("self_attn.k_proj", c.hidden, kvDim, c.qkvBias),
        v: lin("self_attn.v_proj", c.hidden, kvDim, c.qkvBias),
        o: lin("self_attn.o_proj", qDim, c.hidden, c.oBias),
        gate: lin("mlp.gate_proj", c.hidden, c.intermediate, c.mlpBias),
        up: lin("mlp.up_proj", c.hidden, c.intermediate, c.mlpBias),
        down: lin("mlp.down_proj", c.intermediate, c.hidden, c.mlpBias),
      });
    }
    this.finalNorm = this.add("model.norm.weight", [c.hidden], 1);
    this.lmHead = c.tieEmbeddings ? this.embed : this.add("lm_head.weight", [c.vocabSize, c.hidden]);
    this.rope = ropeTables(c, Math.min(c.maxPositions, 4096));
  }

  private add(name: string, shape: number[], fill?: number): Param {
    const p = makeParam(name, shape);
    if (fill !== undefined) p.data.fill(fill);
    this.params.set(name, p);
    return p;
  }

  linears(): Linear[] {
    return this.layers.flatMap((l) => [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]);
  }

  /** Parameters that own a gradient buffer (base weights in full fine-tuning, LoRA A/B with LoRA). */
  trainableParams(): Param[] {
    const out = [...this.params.values()].filter((p) => p.grad);
    for (const l of this.linears()) if (l.lora) for (const p of [l.lora.A, l.lora.B]) if (p.grad) out.push(p);
    return out;
  }

  private ensureRope(maxPos: number): void {
    if (maxPos > this.rope.maxPos) this.rope = ropeTables(this.config, Math.max(maxPos, this.rope.maxPos * 2));
  }

  /**
   * Forward pass. Returns logits [rows.length, vocab] for the flat rows b·T + t asked for, and, when training, the
   * tape the backward pass needs. With a cache, the batch continues the cached sequences (all of the same length).
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
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    const pos0 = cache ? cache.length : 0;
    if (cache && cache.length + T > cache.capacity)
      throw new Error(`KV cache full: ${cache.length} + ${T} > ${cache.capacity}`);
    if (cache && cache.B !== B) throw new Error(`KV cache holds ${cache.B} sequences, batch has ${B}`);
    this.ensureRope(pos0 + T);
    const scale = 1 / Math.sqrt(c.headDim);

    // embedding
    let h = new Float32Array(N * d);
    for (let i = 0; i < N; i++) {
      const t = batch.tokens[i];
      if (t < 0 || t >= c.vocabSize)
        throw new Error(`token id ${t} at position ${i} is outside the vocabulary (${c.vocabSize})`);
      copyRow(this.embed, t, h, i * d);
    }

    const layerTapes: LayerTape[] = [];
    const rng = train ? this.rng : null;
    for (let li = 0; li < c.layers; li++) {
      const L = this.layers[li];
      const lin: Record<string, LinearTape> = {};
      const keep = (name: string, t: LinearTape | null) => {
        if (t) lin[name] = t;
      };
      // --- attention block: h = h + o(attn(rope(norm(q)), rope(norm(k)), v)) of rmsnorm(h)
      const xn1 = new Float32Array(N * d);
      const rstd1 = new Float32Array(N);
      k.rmsnormForward(xn1, rstd1, h, L.inputNorm.data, N, d, c.rmsEps);
      const q = new Float32Array(N * qDim);
      const kk = new Float32Array(N * kvDim);
      const v = new Float32Array(N * kvDim);
      keep("q", L.q.forward(k, xn1, N, q, train, rng));
      keep("k", L.k.forward(k, xn1, N, kk, train, rng));
      keep("v", L.v.forward(k, xn1, N, v, train, rng));
      let qPre: Float32Array | null = null,
        kPre: Float32Array | null = null;
      let rstdQ: Float32Array | null = null,
        rstdK: Float32Array | null = null;
      if (L.qNorm && L.kNorm) {
        qPre = train ? q.slice() : q;
        kPre = train ? kk.slice() : kk;
        rstdQ = new Float32Array(N * c.heads);
        rstdK = new Float32Array(N * c.kvHeads);
        k.rmsnormForward(q, rstdQ, qPre, L.qNorm.data, N * c.heads, c.headDim, c.rmsEps);
        k.rmsnormForward(kk, rstdK, kPre, L.kNorm.data, N * c.kvHeads, c.headDim, c.rmsEps);
      }
      k.rope(q, N, T, c.heads, c.headDim, pos0, this.rope.cos, this.rope.sin, false);
      k.rope(kk, N, T, c.kvHeads, c.headDim, pos0, this.rope.cos, this.rope.sin, false);
      let kvK: Float32Array = kk,
        kvV: Float32Array = v,
        Tk = T,
        stride = T;
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
      const att = new Float32Array(N * qDim);
      const probs = train ? new Float32Array(B * c.heads * T * Tk) : null;
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
        scale,
      );
      const o = new Float32Array(N * d);
      keep("o", L.o.forward(k, att, N, o, train, rng));
      const hIn = h;
      const hMid = train ? h.slice() : h;
      k.addInPlace(hMid, o, N * d);

      // --- MLP block: h = h + down(silu(gate(x)) · up(x)) of x = rmsnorm(h)
      const xn2 = new Float32Array(N * d);
      const rstd2 = new Float32Array(N);
      k.rmsnormForward(xn2, rstd2, hMid, L.postNorm.data, N, d, c.rmsEps);
      const I = c.intermediate;
      const gate = new Float32Array(N * I);
      const up = new Float32Array(N * I);
      keep("gate", L.gate.forward(k, xn2, N, gate, train, rng));
      keep("up", L.up.forward(k, xn2, N, up, train, rng));
      const act = new Float32Array(N * I);
      k.swigluForward(act, gate, up, N * I);
      const m = new Float32Array(N * d);
      keep("down", L.down.forward(k, act, N, m, train, rng));
      const hOut = train ? hMid.slice() : hMid;
      k.addInPlace(hOut, m, N * d);
      if (train) {
        layerTapes.push({
          hIn,
          xn1,
          rstd1,
          qPre,
          kPre,
          rstdQ,
          rstdK,
          q,
          k: kk,
          v,
          probs: probs!,
          att,
          hMid,
          xn2,
          rstd2,
          gate,
          up,
          act,
          lin,
        });
      }
      h = hOut;
    }
    if (cache) cache.length += T;

    // final norm on the rows asked for, then the LM head
    const R = rows.length;
    const hSel = new Float32Array(R * d);
    for (let r = 0; r < R; r++) hSel.set(h.subarray(rows[r] * d, (rows[r] + 1) * d), r * d);
    const hFinal = new Float32Array(R * d);
    const rstdF = new Float32Array(R);
    k.rmsnormForward(hFinal, rstdF, hSel, this.finalNorm.data, R, d, c.rmsEps);
    const logits = new Float32Array(R * c.vocabSize);
    matmulWT(k, hFinal, R, this.lmHead, logits);
    const tape = train ? { batch, rows, layers: layerTapes, hFinal, rstdF, hSel } : null;
    return { logits, tape };
  }

  /** Backward pass from dlogits [rows, vocab]; accumulates into the gradients of the trainable parameters. */
  backward(tape: Tape, dlogits: Float32Array): void {
    const { k, config: c } = this;
    const { B, T } = tape.batch;
    const N = B * T;
    const d = c.hidden;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    const R = tape.rows.length;
    const scale = 1 / Math.sqrt(c.headDim);

    // LM head and final norm
    if (this.lmHead.grad)
      k.sgemm(true, false, c.vocabSize, d, R, 1, dlogits, c.vocabSize, tape.hFinal, d, 1, this.lmHead.grad, d);
    const dFinal = new Float32Array(R * d);
    matmulW(k, dlogits, R, this.lmHead, dFinal, false);
    const dSel = new Float32Array(R * d);
    k.rmsnormBackward(dSel, this.finalNorm.grad, dFinal, tape.hSel, this.finalNorm.data, tape.rstdF, R, d, false);
    const dh = new Float32Array(N * d);
    for (let r = 0; r < R; r++) {
      const o = tape.rows[r] * d;
      for (let i = 0; i < d; i++) dh[o + i] += dSel[r * d + i];
    }

    for (let li = c.layers - 1; li >= 0; li--) {
      const L = this.layers[li];
      const t = tape.layers[li];
      const I = c.intermediate;
      // --- MLP block backward; dh is the gradient of this layer's output
      const dAct = new Float32Array(N * I);
      L.down.backward(k, t.lin.down, dh, N, dAct, false);
      const dGate = new Float32Array(N * I);
      const dUp = new Float32Array(N * I);
      k.swigluBackward(dGate, dUp, dAct, t.gate, t.up, N * I);
      const dxn2 = new Float32Array(N * d);
      L.gate.backward(k, t.lin.gate, dGate, N, dxn2, false);
      L.up.backward(k, t.lin.up, dUp, N, dxn2, true);
      k.rmsnormBackward(dh, L.postNorm.grad, dxn2, t.hMid, L.postNorm.data, t.rstd2, N, d, true);

      // --- attention block backward; dh is now the gradient of hMid
      const dAtt = new Float32Array(N * qDim);
      L.o.backward(k, t.lin.o, dh, N, dAtt, false);
      const dq = new Float32Array(N * qDim);
      const dk = new Float32Array(N * kvDim);
      const dv = new Float32Array(N * kvDim);
      k.attentionBackward(dq, dk, dv, dAtt, t.probs, t.q, t.k, t.v, B, T, T, c.heads, c.kvHeads, c.headDim, scale);
      k.rope(dq, N, T, c.heads, c.headDim, 0, this.rope.cos, this.rope.sin, true);
      k.rope(dk, N, T, c.kvHeads, c.headDim, 0, this.rope.cos, this.rope.sin, true);
      let dqIn = dq,
        dkIn = dk;
      if (L.qNorm && L.kNorm && t.qPre && t.kPre) {
        dqIn = new Float32Array(N * qDim);
        dkIn = new Float32Array(N * kvDim);
        k.rmsnormBackward(dqIn, L.qNorm.grad, dq, t.qPre, L.qNorm.data, t.rstdQ!, N * c.heads, c.headDim, false);
        k.rmsnormBackward(dkIn, L.kNorm.grad, dk, t.kPre, L.kNorm.data, t.rstdK!, N * c.kvHeads, c.headDim, false);
      }
      const dxn1 = new Float32Array(N * d);
      L.q.backward(k, t.lin.q, dqIn, N, dxn1, false);
      L.k.backward(k, t.lin.k, dkIn, N, dxn1, true);
      L.v.backward(k, t.lin.v, dv, N, dxn1, true);
      k.rmsnormBackward(dh, L.inputNorm.grad, dxn1, t.hIn, L.inputNorm.data, t.rstd1, N, d, true);
    }

    // embedding
    const gE = this.embed.grad;
    if (gE) {
      for (let i = 0; i < N; i++) {
        const tok = tape.batch.tokens[i];
        const o = tok * d;
        for (let j = 0; j < d; j++) gE[o + j] += dh[i * d + j];
      }
    }
  }

  /** Random initialisation: normal(0, std) for matrices, ones for norms, zeros for biases. */
  initRandom(seed: number, std = 0.02): void {
    const rng = new Rng(seed);
    for (const p of this.params.values()) {
      if (p.name.endsWith("norm.weight") || p.name.endsWith("layernorm.weight")) p.data.fill(1);
      else if (p.name.endsWith(".bias")) p.data.fill(0);
      else for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal() * std;
    }
  }
}
