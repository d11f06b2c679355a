/**
 * Batched prefill for scoring: log-probabilities of chosen next tokens after each prompt, without generating.
 * This is how a monitor is scored: log P(" Yes") and log P(" No") right after the rendered prompt.
 */
import type { Transformer } from "./model.js";
import { padBatch } from "./sequences.js";

/** Padded tokens a scoring batch holds at most (more prompts per batch only where they are short). */
export const BATCH_TOKENS = 4096;

/** Full next-token log-softmax after each prompt, computed in batches of up to batchSize prompts. */
export function nextTokenLogprobs(model: Transformer, prompts: ArrayLike<number>[], batchSize = 8): Float32Array[] {
  const V = model.config.vocabSize;
  const out: Float32Array[] = new Array(prompts.length);
  // longest first keeps padding low within each batch; results go back in the caller's order
  const order = prompts.map((_, i) => i).sort((a, b) => prompts[b].length - prompts[a].length);
  for (let s = 0; s < order.length; ) {
    // at most batchSize prompts, and at most BATCH_TOKENS padded tokens (a long transcript goes alone): activations
    // grow with the batch's tokens, so a batch of 8k-token prompts would take eight times one's memory
    const longest = prompts[order[s]].length;
    const n = Math.max(1, Math.min(batchSize, Math.floor(BATCH_TOKENS / Math.max(1, longest))));
    const idx = order.slice(s, s + n);
    s += n;
    const batch = padBatch(idx.map((i) => prompts[i]));
    const rows = Int32Array.from(idx.map((i, b) => b * batch.T + prompts[i].length - 1));
    const { logits } = model.forward(batch, rows);
    idx.forEach((i, r) => {
      const row = logits.subarray(r * V, (r + 1) * V);
      out[i] = logSoftmax(row);
    });
  }
  return out;
}

export function logSoftmax(row: Float32Array): Float32Array {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > mx) mx = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - mx);
  const lse = mx + Math.log(sum);
  const out = new Float32Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i] - lse;
  return out;
}

/** log P(token | prompt) for each of the candidate tokens, per prompt: [prompt][candidate]. */
export function scoreNextTokens(
  model: Transformer,
  prompts: ArrayLike<number>[],
  candidates: number[],
  batchSize = 8,
): number[][] {
  return nextTokenLogprobs(model, prompts, batchSize).map((lp) => candidates.map((c) => lp[c]));
}
