/**
 * Single-token scoring: P(positive) from the log-probabilities of the two answer tokens right after the rendered
 * prompt, normalised over the two, and the probability mass on them (low mass: the model is not answering in the
 * expected format).
 */
import type { Transformer } from "../engine/model.js";
import { scoreNextTokens } from "../engine/score.js";
import type { Example, Task } from "../data/task.js";
import type { Renderer } from "../formats/render.js";

export interface SingleTokenScores {
  pPositive: number[];
  mass: number[];
  truncated: number;
}

export function scoreSingleToken(model: Transformer, renderer: Renderer, task: Task, examples: Example[], batchSize = 8): SingleTokenScores {
  const rendered = examples.map((e) => renderer.singleToken(task, e));
  const lps = scoreNextTokens(model, rendered.map((r) => r.promptIds), rendered[0]?.candidates ?? [0, 0], batchSize);
  const pPositive: number[] = [], mass: number[] = [];
  for (const [lpPos, lpNeg] of lps) {
    const m = Math.max(lpPos, lpNeg);
    const a = Math.exp(lpPos - m), b = Math.exp(lpNeg - m);
    pPositive.push(a / (a + b));
    mass.push(Math.exp(lpPos) + Math.exp(lpNeg));
  }
  return { pPositive, mass, truncated: rendered.filter((r) => r.truncated).length };
}
