/**
 * The training primitives: forwardBackward (loss and gradients of one micro-batch) and optimStep. A step over a
 * global batch calls forwardBackward on each micro-batch with the same normaliser, so gradient accumulation gives
 * the same gradients as one large batch.
 */
import type { Transformer } from "./model.js";
import { type AdamW, clipGradNorm } from "./optim.js";
import { makeTrainBatch, totalWeight, type WeightedSequence } from "./sequences.js";

/** Σ weight·nll over the micro-batch; gradients of (that sum / normaliser) are added to the parameters. */
export function forwardBackward(model: Transformer, seqs: WeightedSequence[], normaliser: number): number {
  const tb = makeTrainBatch(seqs);
  if (tb.rows.length === 0) return 0;
  const { logits, tape } = model.forward(tb.batch, tb.rows, { train: true });
  const loss = model.k.crossEntropy(
    logits,
    tb.targets,
    tb.weights,
    tb.rows.length,
    model.config.vocabSize,
    1 / normaliser,
  );
  model.backward(tape!, logits);
  return loss;
}

/** Loss only (no gradients): the weighted mean nll of the sequences. */
export function evaluateLoss(model: Transformer, seqs: WeightedSequence[]): number {
  const tb = makeTrainBatch(seqs);
  if (tb.rows.length === 0) return 0;
  const { logits } = model.forward(tb.batch, tb.rows);
  return (
    model.k.crossEntropy(logits, tb.targets, tb.weights, tb.rows.length, model.config.vocabSize, 1) / totalWeight(seqs)
  );
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  tokens: number;
}

/** One optimiser step over a global batch split into micro-batches; returns the weighted mean loss. */
export function trainStep(
  model: Transformer,
  opt: AdamW,
  microBatches: WeightedSequence[][],
  lr: number,
  maxGradNorm: number,
): StepResult {
  const norm = microBatches.reduce((s, mb) => s + totalWeight(mb), 0);
  let loss = 0;
  let tokens = 0;
  if (norm > 0)
    for (const mb of microBatches) {
      loss += forwardBackward(model, mb, norm);
      for (const s of mb) tokens += s.ids.length;
    }
  const gradNorm = clipGradNorm(model.k, opt.params, maxGradNorm);
  opt.apply(lr);
  opt.zeroGrad();
  return { loss: norm > 0 ? loss / norm : 0, gradNorm, tokens };
}
