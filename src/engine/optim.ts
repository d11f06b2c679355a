/** AdamW over a model's trainable parameters, global-norm gradient clipping, and the learning-rate schedule. */
import type { Kernels } from "./kernels/types.js";
import type { Param } from "./params.js";

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class AdamW {
  step = 0;
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(
    readonly k: Kernels,
    readonly params: Param[],
    o: Omit<AdamWOptions, "lr">,
  ) {
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    for (const p of params) {
      this.m.set(p.name, new Float32Array(p.data.length));
      this.v.set(p.name, new Float32Array(p.data.length));
    }
  }

  /** One update with learning rate lr; norms and biases get no weight decay (the usual Llama/TRL grouping). */
  apply(lr: number): void {
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    for (const p of this.params) {
      if (!p.grad) continue;
      const decay = p.shape.length >= 2 ? this.weightDecay : 0;
      this.k.adamw(
        p.data,
        p.grad,
        this.m.get(p.name)!,
        this.v.get(p.name)!,
        p.data.length,
        lr,
        this.beta1,
        this.beta2,
        this.eps,
        decay,
        bc1,
        bc2,
      );
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad?.fill(0);
  }
}

/** Scales gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(k: Kernels, params: Param[], maxNorm: number): number {
  let ss = 0;
  for (const p of params) if (p.grad) ss += k.sumSquares(p.grad, p.grad.length);
  const norm = Math.sqrt(ss);
  if (maxNorm > 0 && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of params) if (p.grad) k.scaleInPlace(p.grad, s, p.grad.length);
  }
  return norm;
}

export interface Schedule {
  /** steps of linear warm-up from 0 */
  warmupSteps: number;
  totalSteps: number;
  kind: "cosine" | "linear" | "constant";
  /** the final learning rate as a fraction of the peak */
  minRatio?: number;
}

export function learningRate(peak: number, step: number, s: Schedule): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (peak * (step + 1)) / s.warmupSteps;
  if (s.kind === "constant") return peak;
  const min = s.minRatio ?? 0;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, (step - s.warmupSteps) / span);
  const f = s.kind === "cosine" ? 0.5 * (1 + Math.cos(Math.PI * t)) : 1 - t;
  return peak * (min + (1 - min) * f);
}
