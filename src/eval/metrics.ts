/**
 * Metrics of a monitor's scores: AUROC with bootstrap CIs, paired differences, accuracy (at 0.5 and at a threshold
 * chosen on validation), TPR at fixed FPR, Brier score, ECE, log-loss, gap recovered with its CI, and whether scores
 * follow another quantity (length) among texts of one label.
 * AUROC, Brier, log-loss and the ROC points follow scikit-learn's definitions (checked against it in the tests).
 */
import { Rng } from "../core/random.js";
import { auroc, spearman } from "./auroc.js";

export { auroc, spearman };
export type Labels = ArrayLike<number | boolean>;
const isPos = (l: number | boolean) => l === true || l === 1;

export interface Interval {
  value: number;
  lo: number;
  hi: number;
  /** over training replicates: each replicate's value (their mean is `value`) */
  replicates?: number[];
  /** over training replicates: the standard error and Student's t degrees of freedom the interval was built from */
  se?: number;
  df?: number;
}

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos),
    hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Resampled index sets (with replacement), reproducible by seed; by default only sets that hold both classes. */
export function bootstrapIndices(labels: Labels, n: number, seed: number, bothClasses = true): Int32Array[] {
  const rng = new Rng(seed);
  const N = labels.length;
  const out: Int32Array[] = [];
  let tries = 0;
  while (out.length < n && tries++ < n * 10) {
    const idx = new Int32Array(N);
    let p = 0;
    for (let i = 0; i < N; i++) {
      idx[i] = rng.int(N);
      if (isPos(labels[idx[i]])) p++;
    }
    if (!bothClasses || (p > 0 && p < N)) out.push(idx);
  }
  return out;
}

const pick = <T>(xs: ArrayLike<T>, idx: Int32Array): T[] => Array.from(idx, (i) => xs[i]);

/** A statistic with its bootstrap 95% percentile interval (resamples need both classes unless told otherwise). */
export function withCI(
  labels: Labels,
  stat: (idx: Int32Array | null) => number,
  o: { n?: number; seed?: number; bothClasses?: boolean } = {},
): Interval {
  const value = stat(null);
  const vals = bootstrapIndices(labels, o.n ?? 1000, o.seed ?? 0, o.bothClasses ?? true)
    .map((idx) => stat(idx))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return { value, lo: percentile(vals, 0.025), hi: percentile(vals, 0.975) };
}

export function aurocCI(labels: Labels, scores: ArrayLike<number>, o: { n?: number; seed?: number } = {}): Interval {
  return withCI(labels, (idx) => (idx ? auroc(pick(labels, idx), pick(scores, idx)) : auroc(labels, scores)), o);
}

/** AUROC(b) − AUROC(a) on the same examples, with a paired bootstrap 95% interval. */
export function pairedAurocDiff(
  labels: Labels,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  o: { n?: number; seed?: number } = {},
): Interval {
  return withCI(
    labels,
    (idx) =>
      idx
        ? auroc(pick(labels, idx), pick(b, idx)) - auroc(pick(labels, idx), pick(a, idx))
        : auroc(labels, b) - auroc(labels, a),
    o,
  );
}

/**
 * Gap recovered = (other − untrained) / (in-domain − untrained), in AUROC on the same examples, with a paired
 * bootstrap interval. NaN when the in-domain model does not beat the untrained one (no gap to recover).
 */
export function gapRecovered(
  labels: Labels,
  untrained: ArrayLike<number>,
  inDomain: ArrayLike<number>,
  other: ArrayLike<number>,
  o: { n?: number; seed?: number } = {},
): Interval {
  const g = (l: Labels, u: ArrayLike<number>, i: ArrayLike<number>, x: ArrayLike<number>) => {
    const base = auroc(l, u);
    const gap = auroc(l, i) - base;
    return gap > 1e-9 ? (auroc(l, x) - base) / gap : NaN;
  };
  return withCI(
    labels,
    (idx) =>
      idx
        ? g(pick(labels, idx), pick(untrained, idx), pick(inDomain, idx), pick(other, idx))
        : g(labels, untrained, inDomain, other),
    o,
  );
}

export function accuracy(labels: Labels, scores: ArrayLike<number>, threshold = 0.5): number {
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (scores[i] >= threshold === isPos(labels[i])) ok++;
  return ok / labels.length;
}

/** The threshold that maximises accuracy on validation scores (midpoint between neighbouring scores). */
export function bestThreshold(labels: Labels, scores: ArrayLike<number>): number {
  const s = [...new Set(Array.from(scores))].sort((a, b) => a - b);
  const cands = [s[0] - 1e-9, ...s.slice(0, -1).map((x, i) => (x + s[i + 1]) / 2), s[s.length - 1] + 1e-9];
  let best = 0.5,
    bestAcc = -1;
  for (const t of cands) {
    const a = accuracy(labels, scores, t);
    if (a > bestAcc + 1e-12) {
      bestAcc = a;
      best = t;
    }
  }
  return best;
}

/** ROC points as scikit-learn's roc_curve(drop_intermediate=False): one per distinct threshold, highest first. */
export function rocCurve(
  labels: Labels,
  scores: ArrayLike<number>,
): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const P = Array.from(labels).filter(isPos).length,
    N = labels.length - P;
  const fpr = [0],
    tpr = [0],
    thresholds = [Infinity];
  let tp = 0,
    fp = 0;
  for (let k = 0; k < order.length; k++) {
    if (isPos(labels[order[k]])) tp++;
    else fp++;
    if (k + 1 === order.length || scores[order[k + 1]] !== scores[order[k]]) {
      fpr.push(fp / N);
      tpr.push(tp / P);
      thresholds.push(scores[order[k]]);
    }
  }
  return { fpr, tpr, thresholds };
}

/** The highest TPR reachable with FPR at most `maxFpr` (on the ROC points). */
export function tprAtFpr(labels: Labels, scores: ArrayLike<number>, maxFpr: number): number {
  const r = rocCurve(labels, scores);
  let best = 0;
  for (let i = 0; i < r.fpr.length; i++) if (r.fpr[i] <= maxFpr + 1e-12) best = Math.max(best, r.tpr[i]);
  return best;
}

export function brier(labels: Labels, probs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += (probs[i] - (isPos(labels[i]) ? 1 : 0)) ** 2;
  return s / labels.length;
}

/** Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15] as scikit-learn does. */
export function logLoss(labels: Labels, probs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, probs[i]));
    s -= isPos(labels[i]) ? Math.log(p) : Math.log(1 - p);
  }
  return s / labels.length;
}

/** Expected calibration error over `bins` equal-width bins of the predicted probability. */
export function ece(labels: Labels, probs: ArrayLike<number>, bins = 10): number {
  const count = new Array(bins).fill(0),
    conf = new Array(bins).fill(0),
    pos = new Array(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const b = Math.min(bins - 1, Math.floor(probs[i] * bins));
    count[b]++;
    conf[b] += probs[i];
    if (isPos(labels[i])) pos[b]++;
  }
  let e = 0;
  for (let b = 0; b < bins; b++)
    if (count[b]) e += (count[b] / labels.length) * Math.abs(pos[b] / count[b] - conf[b] / count[b]);
  return e;
}

export interface MetricSet {
  n: number;
  auroc: Interval;
  accuracy_at_half: number;
  accuracy_at_val_threshold: number | null;
  val_threshold: number | null;
  tpr_at_1pct_fpr: number;
  tpr_at_5pct_fpr: number;
  brier: number;
  ece: number;
  log_loss: number;
}

export function metricSet(
  labels: Labels,
  probs: ArrayLike<number>,
  val?: { labels: Labels; probs: ArrayLike<number> },
  o: { n?: number; seed?: number } = {},
): MetricSet {
  const thr = val?.labels.length ? bestThreshold(val.labels, val.probs) : null;
  return {
    n: labels.length,
    auroc: aurocCI(labels, probs, o),
    accuracy_at_half: accuracy(labels, probs, 0.5),
    accuracy_at_val_threshold: thr === null ? null : accuracy(labels, probs, thr),
    val_threshold: thr,
    tpr_at_1pct_fpr: tprAtFpr(labels, probs, 0.01),
    tpr_at_5pct_fpr: tprAtFpr(labels, probs, 0.05),
    brier: brier(labels, probs),
    ece: ece(labels, probs),
    log_loss: logLoss(labels, probs),
  };
}

/**
 * Spearman's ρ between scores and another quantity (a text's length, say) within each label, averaged with the
 * labels' sizes as weights: whether a monitor's score follows that quantity beyond what the label explains (over both
 * labels together, a right answer on a task where length separates the labels would count as following length).
 * NaN when neither label has three texts with varying scores and quantities.
 */
export function withinLabelSpearman(labels: Labels, scores: ArrayLike<number>, other: ArrayLike<number>): number {
  let sum = 0,
    n = 0;
  for (const positive of [true, false]) {
    const idx = Array.from({ length: labels.length }, (_, i) => i).filter((i) => isPos(labels[i]) === positive);
    if (idx.length < 3) continue;
    const rho = spearman(
      idx.map((i) => scores[i]),
      idx.map((i) => other[i]),
    );
    if (Number.isNaN(rho)) continue;
    sum += rho * idx.length;
    n += idx.length;
  }
  return n ? sum / n : NaN;
}
