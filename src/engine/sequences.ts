/**
 * Turning token sequences into the engine's padded batches. A training sequence carries a loss weight per token:
 * weights[t] is the weight on predicting ids[t] from the tokens before it (weights[0] is unused).
 */
import type { Batch } from "./model.js";

export interface WeightedSequence {
  ids: ArrayLike<number>;
  weights: ArrayLike<number>;
}

export interface TrainBatch {
  batch: Batch;
  /** flat rows whose next-token prediction carries weight */
  rows: Int32Array;
  targets: Int32Array;
  weights: Float32Array;
}

/** Right-pads sequences into one batch (pad id 0, masked out by validLen). */
export function padBatch(seqs: ArrayLike<number>[]): Batch {
  const B = seqs.length;
  const T = Math.max(1, ...Array.from(seqs, (s) => s.length));
  const tokens = new Int32Array(B * T);
  const validLen = new Int32Array(B);
  seqs.forEach((s, b) => {
    for (let t = 0; t < s.length; t++) tokens[b * T + t] = s[t];
    validLen[b] = s.length;
  });
  return { tokens, B, T, validLen };
}

/** Inputs are ids[0..n-2]; the target of input position t is ids[t+1] with weight weights[t+1]. */
export function makeTrainBatch(seqs: WeightedSequence[]): TrainBatch {
  for (const s of seqs)
    if (s.ids.length !== s.weights.length)
      throw new Error(`sequence of ${s.ids.length} ids has ${s.weights.length} weights`);
  const inputs = seqs.map((s) => Array.from(s.ids).slice(0, Math.max(1, s.ids.length - 1)));
  const batch = padBatch(inputs);
  const rows: number[] = [],
    targets: number[] = [],
    weights: number[] = [];
  seqs.forEach((s, b) => {
    for (let t = 0; t + 1 < s.ids.length; t++) {
      const w = s.weights[t + 1];
      if (w === 0) continue;
      rows.push(b * batch.T + t);
      targets.push(s.ids[t + 1]);
      weights.push(w);
    }
  });
  return { batch, rows: Int32Array.from(rows), targets: Int32Array.from(targets), weights: Float32Array.from(weights) };
}

export function totalWeight(seqs: WeightedSequence[]): number {
  let w = 0;
  for (const s of seqs) for (let t = 1; t < s.weights.length; t++) w += s.weights[t];
  return w;
}
