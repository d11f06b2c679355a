/** The recipe's three phases: their schedule, and the training curve they leave behind. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PretrainOptions } from "./recipe.js";

export type PhaseName = "pretrain" | "instruct" | "reading";

/**
 * The three phases' steps, peak learning rates and warm-ups: (1) pretraining on the corpus; (2) the instruction phase,
 * IF conversations, reading and comprehension questions only, at a lower learning rate; (3) the reading phase,
 * everyday concepts on stories and reading questions asked both ways (half negated), so that the answer depends on
 * the question: the general reading a base model brings to a monitoring question.
 */
export function phaseSchedule(
  o: Pick<Required<PretrainOptions>, "steps" | "lr" | "instructSteps" | "instructLr" | "readingSteps" | "readingLr">,
): { name: PhaseName; steps: number; lr: number; warmup: number }[] {
  return [
    { name: "pretrain", steps: o.steps, lr: o.lr, warmup: Math.min(200, Math.floor(o.steps / 10)) },
    { name: "instruct", steps: o.instructSteps, lr: o.instructLr, warmup: Math.floor(o.instructSteps / 20) },
    { name: "reading", steps: o.readingSteps, lr: o.readingLr, warmup: Math.floor(o.readingSteps / 20) },
  ];
}

export interface Phase {
  name: PhaseName;
  /** its place in the full recipe (work/phase<n+1>), whichever phases are switched off */
  n: number;
  steps: number;
  lr: number;
  warmup: number;
  stream: () => { ids: Int32Array; weights: Float32Array };
}

/** The training curve of every phase: its metrics file, or (when a phase's work folder is gone) the rows an earlier
 * build wrote for it, so a model finished in several sittings keeps its whole curve. */
export function trainingCurve(out: string, phases: { name: string; metrics: string }[]): string {
  const previous = existsSync(join(out, "training_curve.jsonl"))
    ? readFileSync(join(out, "training_curve.jsonl"), "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { phase: string })
    : [];
  const rows = phases.flatMap((p) =>
    existsSync(p.metrics)
      ? readFileSync(p.metrics, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => ({ phase: p.name, ...JSON.parse(l) }))
      : previous.filter((r) => r.phase === p.name),
  );
  return `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;
}
