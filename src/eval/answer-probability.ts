/**
 * A single-token monitor's score: P(positive) normalised over the two answer tokens, from their log-probabilities,
 * and the mass the two hold. The one place it is computed (evaluation, serve, `engine score`): a log-probability that
 * is not finite (NaN weights, an overflow) is an error naming the model, never a score, since a NaN compared with a
 * threshold reads as "negative": a broken monitor would say "safe".
 */
export class NonFiniteScore extends Error {}

export function answerProbability(lpPos: number, lpNeg: number, model: string): { p: number; mass: number } {
  const m = Math.max(lpPos, lpNeg);
  const x = Math.exp(lpPos - m);
  const y = Math.exp(lpNeg - m);
  const p = x / (x + y);
  if (!Number.isFinite(p) || Number.isNaN(lpPos) || Number.isNaN(lpNeg))
    throw new NonFiniteScore(
      `${model}: the answer tokens' log-probabilities are ${lpPos} and ${lpNeg}; the model gives no valid score ` +
        "(NaN or infinite values in its weights or activations)",
    );
  return { p, mass: Math.exp(lpPos) + Math.exp(lpNeg) };
}
