/**
 * A monitor as deployed: a threshold fixed on clean data, then applied to whatever it meets. The threshold of each
 * replicate is the one that flags `fpr` of the clean validation negatives (of the clean test negatives where the run
 * has no validation split, which the report then says); TPR and FPR on the evaluated texts are the shares above it.
 */
import type { Interval } from "../../eval/metrics.js";
import { measureOver, type Measure } from "../../eval/replicated.js";
import type { Analysis } from "../analysis.js";

/** The score above which `fpr` of these negatives' scores lie (at most): flagged means strictly above it. */
export function thresholdAt(negatives: number[], fpr: number): number {
  const sorted = [...negatives].sort((x, y) => y - x);
  const k = Math.floor(fpr * sorted.length);
  return k < sorted.length ? sorted[k] : Number.NEGATIVE_INFINITY;
}

export interface OperatingPoint {
  tpr: Interval;
  fpr: Interval;
  /** where the threshold came from */
  from: "validation" | "test";
}

/** Each replicate's threshold for `fpr` on the clean negatives (validation where the run has it, else test). */
function thresholdsOf(a: Analysis, label: string | null, cleanTask: string, fpr: number) {
  const keys = a.keysOf(label);
  const validation = keys.map((k) => a.preds(k, cleanTask, "single", "validation"));
  const from: "validation" | "test" = validation.every((v) => v !== null) ? "validation" : "test";
  const thresholds = keys.map((k, r) => {
    const p = validation[r] ?? a.need(k, cleanTask);
    return thresholdAt(
      p.scores.filter((_, i) => p.labels[i] === 0),
      fpr,
    );
  });
  return { thresholds, from };
}

/**
 * TPR on `evalTask` − TPR on `cleanTask` at the same clean thresholds, paired over the positives (the same examples
 * before and after the transform) and replicates: how many more (or fewer) positives a deployed monitor flags. Each
 * positive counts +1 where only its transformed text is flagged, −1 where only its clean one is.
 */
export function tprChange(a: Analysis, label: string | null, cleanTask: string, evalTask: string, fpr: number) {
  const { thresholds } = thresholdsOf(a, label, cleanTask, fpr);
  const clean = a.reps(label, cleanTask);
  const moved = a.reps(label, evalTask);
  if (clean.ids.some((id, i) => id !== moved.ids[i]))
    throw new Error(`${cleanTask} and ${evalTask} were scored on different examples`);
  const deltas = moved.reps.map((s, r) =>
    Array.from(s, (x, i) => Number(x > thresholds[r]) - Number(clean.reps[r][i] > thresholds[r])),
  );
  const meanOverPositives: Measure = (s, idx) => {
    let n = 0;
    let sum = 0;
    const add = (i: number) => {
      if (clean.labels[i] !== 1) return;
      n++;
      sum += s[i];
    };
    if (idx) for (const i of idx) add(i);
    else for (let i = 0; i < s.length; i++) add(i);
    return n ? sum / n : 0;
  };
  return measureOver(clean.labels, deltas, a.boot, meanOverPositives, [-1, 1]);
}

/**
 * TPR and FPR of a model (label; null: untrained) on `evalTask` at the thresholds set on `cleanTask`'s clean
 * negatives for `fpr`, over replicates (each replicate its own threshold).
 */
export function operatingPoint(
  a: Analysis,
  label: string | null,
  cleanTask: string,
  evalTask: string,
  fpr: number,
): OperatingPoint {
  const { thresholds, from } = thresholdsOf(a, label, cleanTask, fpr);
  const ev = a.reps(label, evalTask);
  // each replicate's scores less its threshold: flagged is then > 0 whatever the replicate
  const shifted = ev.reps.map((s, r) => s.map((x) => x - thresholds[r]));
  const share =
    (cls: number): Measure =>
    (s, idx) => {
      let n = 0;
      let above = 0;
      const count = (i: number) => {
        if (ev.labels[i] !== cls) return;
        n++;
        if (s[i] > 0) above++;
      };
      if (idx) for (const i of idx) count(i);
      else for (let i = 0; i < s.length; i++) count(i);
      return n ? above / n : 0;
    };
  return {
    tpr: measureOver(ev.labels, shifted, a.boot, share(1), [0, 1]),
    fpr: measureOver(ev.labels, shifted, a.boot, share(0), [0, 1]),
    from,
  };
}
