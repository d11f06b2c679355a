/**
 * What both robustness questions measure of a model on transformed texts against the clean ones: AUROC, the deployed
 * monitor's TPR at 1% and 5% FPR and FPR at 5% (thresholds from clean data), and two paired differences from the
 * clean texts over the same examples and replicates: TPR at the clean 5%-FPR threshold, and AUROC.
 */
import type { Interval } from "../../eval/metrics.js";
import { diffOver } from "../../eval/replicated.js";
import { fmtCI } from "../../report/format.js";
import type { Analysis } from "../analysis.js";
import { operatingPoint, tprChange } from "./operating-point.js";

export interface RobustnessMeasures {
  auroc: Interval;
  tpr_at_1: Interval;
  tpr_at_5: Interval;
  /** the share of negatives flagged at the clean 5%-FPR threshold (a transform of negatives can move it) */
  fpr_at_5: Interval;
  /** TPR here − TPR on the clean texts at the clean 5%-FPR threshold, paired over positives (null: the clean texts) */
  tpr_change_at_5: Interval | null;
  /** AUROC here − AUROC on the clean texts, paired over examples and replicates (null: the clean texts) */
  fall: Interval | null;
}

/**
 * The measures of a model (label; null: untrained) on `task` against `cleanTask`; `from` says where the thresholds
 * came from (clean validation, or clean test where the run has no validation split).
 */
export function measuresOn(
  a: Analysis,
  label: string | null,
  cleanTask: string,
  task: string,
): RobustnessMeasures & { from: "validation" | "test" } {
  const at1 = operatingPoint(a, label, cleanTask, task, 0.01);
  const at5 = operatingPoint(a, label, cleanTask, task, 0.05);
  const isClean = task === cleanTask;
  const clean = a.reps(label, cleanTask);
  return {
    auroc: a.aurocOf(label, task),
    tpr_at_1: at1.tpr,
    tpr_at_5: at5.tpr,
    fpr_at_5: at5.fpr,
    tpr_change_at_5: isClean ? null : tprChange(a, label, cleanTask, task, 0.05),
    fall: isClean ? null : diffOver(clean.labels, clean.reps, a.reps(label, task).reps, a.boot),
    from: at1.from,
  };
}

export const MEASURE_HEAD = [
  "AUROC",
  "TPR at 1% FPR",
  "TPR at 5% FPR",
  "FPR there",
  "TPR change at 5% FPR",
  "AUROC change from clean",
];

/** The measures as a table row's cells, in MEASURE_HEAD's order. */
export function measureCells(m: RobustnessMeasures): string[] {
  return [
    fmtCI(m.auroc),
    fmtCI(m.tpr_at_1, true),
    fmtCI(m.tpr_at_5, true),
    fmtCI(m.fpr_at_5, true),
    m.tpr_change_at_5 ? fmtCI(m.tpr_change_at_5) : "–",
    m.fall ? fmtCI(m.fall) : "–",
  ];
}
