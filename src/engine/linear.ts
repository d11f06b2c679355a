/**
 * A linear layer as Hugging Face stores it (weight [out, in], y = x·Wᵀ + b), with an optional LoRA adapter
 * (y += scale · dropout(x)·Aᵀ·Bᵀ, A [r, in], B [out, r], scale = alpha / r, as PEFT computes it).
 * Forward and backward sit side by side.
 */
import type { Kernels } from "./kernels/types.js";
import type { Param } from "./params.js";
import type { Rng } from "../core/random.js";
import { matmulW, matmulWT } from "./weights.js";

export interface LoraAdapter {
  rank: number;
  alpha: number;
  dropout: number;
  A: Param;
  B: Param;
}

/** What a training forward keeps for the backward pass. */
export interface LinearTape {
  x: Float32Array;
  /** dropout(x) and which elements it kept, when LoRA dropout is on */
  xDrop: Float32Array | null;
  kept: Uint8Array | null;
  /** dropout(x)·Aᵀ, when LoRA is on */
  xa: Float32Array | null;
}

export class Linear {
  lora: LoraAdapter | null = null;
  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    public weight: Param,
    public bias: Param | null,
  ) {}

  get loraScale(): number {
    return this.lora ? this.lora.alpha / this.lora.rank : 0;
  }

  /** y[rows, out] = x[rows, in]·Wᵀ (+ b) (+ LoRA). Returns the tape when training. */
  forward(
    k: Kernels,
    x: Float32Array,
    rows: number,
    y: Float32Array,
    train: boolean,
    rng: Rng | null,
  ): LinearTape | null {
    const I = this.inFeatures;
    if (!this.lora) {
      matmulWT(k, x, rows, this.weight, y);
      this.addBias(y, rows);
      return train ? { x, xDrop: null, kept: null, xa: null } : null;
    }
    const { dropout, rank, B } = this.lora;
    let xDrop: Float32Array | null = null;
    let kept: Uint8Array | null = null;
    if (train && dropout > 0 && rng) {
      xDrop = new Float32Array(rows * I);
      kept = new Uint8Array(rows * I);
      const keep = 1 / (1 - dropout);
      // one draw from the model's generator seeds a xorshift32 stream for this mask: as reproducible, much cheaper
      let st = (Math.floor(rng.next() * 4294967296) | 1) >>> 0;
      const threshold = Math.floor(dropout * 4294967296);
      for (let i = 0; i < xDrop.length; i++) {
        st ^= st << 13;
        st ^= st >>> 17;
        st ^= st << 5;
        if (st >>> 0 >= threshold) {
          kept[i] = 1;
          xDrop[i] = x[i] * keep;
        }
      }
    }
    // y = x·Wᵀ + scale·xa·Bᵀ, the adapter's term added as the base's product writes y (weights.ts)
    const xa = this.adapterInput(k, xDrop ?? x, rows);
    matmulWT(k, x, rows, this.weight, y, 1, 0, { U: xa, V: B.data, rank, scale: this.loraScale });
    this.addBias(y, rows);
    return train ? { x, xDrop, kept, xa } : null;
  }

  private addBias(y: Float32Array, rows: number): void {
    if (!this.bias) return;
    const b = this.bias.data;
    const O = this.outFeatures;
    for (let r = 0; r < rows; r++) {
      const o = r * O;
      for (let j = 0; j < O; j++) y[o + j] += b[j];
    }
  }

  /**
   * The rest of an inference forward whose y = x·Wᵀ was computed elsewhere (W's rows multiplied together with other
   * layers' in one product): the bias and the adapter.
   */
  finishInference(k: Kernels, x: Float32Array, rows: number, y: Float32Array): void {
    this.addBias(y, rows);
    if (this.lora) this.addAdapter(k, x, rows, y);
  }

  /** y += scale · x·Aᵀ·Bᵀ */
  private addAdapter(k: Kernels, x: Float32Array, rows: number, y: Float32Array): void {
    const { rank, B } = this.lora!;
    const O = this.outFeatures;
    const xa = this.adapterInput(k, x, rows);
    k.sgemm(false, true, rows, O, rank, this.loraScale, xa, rank, B.data, rank, 1, y, O);
  }

  /** xa = x·Aᵀ [rows, rank]: the adapter's input to B */
  private adapterInput(k: Kernels, x: Float32Array, rows: number): Float32Array {
    const { rank, A } = this.lora!;
    const I = this.inFeatures;
    const xa = new Float32Array(rows * rank);
    k.sgemm(false, true, rows, rank, I, 1, x, I, A.data, I, 0, xa, rank);
    return xa;
  }

  /**
   * Gradients of forward: dx (= or += dy·W + LoRA part), and dW, db, dA, dB accumulated where they train. dx null:
   * nothing reads the input's gradient (the bottom layer's, under a frozen embedding), so its products are skipped.
   */
  backward(
    k: Kernels,
    tape: LinearTape,
    dy: Float32Array,
    rows: number,
    dx: Float32Array | null,
    accumulate: boolean,
  ): void {
    const { inFeatures: I, outFeatures: O } = this;
    const x = tape.x;
    if (this.weight.grad) k.sgemm(true, false, O, I, rows, 1, dy, O, x, I, 1, this.weight.grad, I);
    if (this.bias?.grad) {
      const g = this.bias.grad;
      for (let r = 0; r < rows; r++) for (let j = 0; j < O; j++) g[j] += dy[r * O + j];
    }
    if (!this.lora || !tape.xa) {
      if (dx) matmulW(k, dy, rows, this.weight, dx, accumulate);
      return;
    }
    const { rank, A, B } = this.lora;
    const s = this.loraScale;
    if (B.grad) k.sgemm(true, false, O, rank, rows, s, dy, O, tape.xa, rank, 1, B.grad, rank);
    const dxa = new Float32Array(rows * rank);
    k.sgemm(false, false, rows, rank, O, s, dy, O, B.data, rank, 0, dxa, rank);
    const xin = tape.xDrop ?? x;
    if (A.grad) k.sgemm(true, false, rank, I, rows, 1, dxa, rank, xin, I, 1, A.grad, I);
    if (!dx) return;
    if (!tape.kept) {
      // dx = dy·W + dxa·A, the adapter's term added as the base's product writes dx
      matmulW(k, dy, rows, this.weight, dx, accumulate, { U: dxa, V: A.data, rank, scale: 1 });
    } else {
      matmulW(k, dy, rows, this.weight, dx, accumulate);
      // through the dropout: its derivative is 1/(1-p) where an element was kept, 0 where it was dropped
      const tmp = new Float32Array(rows * I);
      k.sgemm(false, false, rows, I, rank, 1, dxa, rank, A.data, I, 0, tmp, I);
      const keep = 1 / (1 - this.lora.dropout);
      const kept = tape.kept;
      for (let i = 0; i < tmp.length; i++) if (kept[i]) dx[i] += tmp[i] * keep;
    }
  }
}
