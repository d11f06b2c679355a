/**
 * Figures over training replicates: each trained model is trained k times (seeds from named streams) and scored on
 * the same test examples. A figure is the mean over replicates; its interval covers both test sampling and training
 * randomness with a combined variance,
 *   var = var_test(mean over replicates, by a bootstrap of the test examples, paired across models)
 *       + var_seeds(per-replicate values) / k,
 * and a Student's t quantile with Welch–Satterthwaite's degrees of freedom (the seed part is estimated from k values).
 * Replicate r of one model is paired with replicate r of another; a model with one replicate (the untrained base)
 * stands beside every r. With k = 1 the interval is the bootstrap percentile one: it covers test sampling only, and
 * the report says so. The planted-truth check (`npm run bench -- coverage`) measures what these intervals cover.
 */
import { auroc, ResampledAuroc } from "./auroc.js";
import { tQuantile } from "./distributions.js";
import { bootstrapIndices, type Interval, type Labels } from "./metrics.js";

export type Scores = ArrayLike<number>;
/** one model's scores, one array per replicate (one for a model trained once, or untrained) */
export type Replicates = Scores[];
export interface Boot {
  n: number;
  seed: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
};

/** The number of replicates figures over these models pair: every model has k or 1 (an error otherwise). */
export function replicateCount(models: Replicates[]): number {
  const k = Math.max(...models.map((m) => m.length));
  for (const m of models)
    if (m.length !== k && m.length !== 1)
      throw new Error(`replicates: models with ${m.length} and ${k} replicates cannot be paired`);
  return k;
}

/** A per-model measure of one replicate's scores on the examples idx (all of them when null). */
export type Measure = (scores: Scores, idx: Int32Array | null) => number;

/** AUROC as a measure: each score array sorted once, each resample counted once (see ResampledAuroc). */
function aurocMeasure(labels: Labels): Measure {
  const sorted = new WeakMap<object, ResampledAuroc>();
  const counted = new WeakMap<Int32Array, Float64Array>();
  return (s, idx) => {
    if (!idx) return auroc(labels, s);
    let r = sorted.get(s);
    if (!r) {
      r = new ResampledAuroc(labels, s);
      sorted.set(s, r);
    }
    let c = counted.get(idx);
    if (!c) {
      c = new Float64Array(labels.length);
      for (const i of idx) c[i]++;
      counted.set(idx, c);
    }
    return r.of(c);
  };
}

/** The measure of every replicate of every model, on the examples idx. */
function measured(models: Replicates[], idx: Int32Array | null, measure: Measure): number[][] {
  return models.map((m) => m.map((s) => measure(s, idx)));
}

/** The value of replicate r of model m, a once-trained model standing beside every r. */
const at = (a: number[][], m: number, r: number) => a[m][Math.min(r, a[m].length - 1)];

function percentile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos),
    hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * A statistic of per-replicate AUROCs (stat(a, r): replicate r's value from every model's AUROCs), its mean over
 * replicates with the combined interval; with one replicate the percentile bootstrap interval. `ratio`: the figure
 * is a ratio of means (gap recovered), its seed variance by the delta method.
 */
function overReplicates(
  labels: Labels,
  models: Replicates[],
  boot: Boot & { bothClasses?: boolean },
  stat: (a: number[][], r: number) => number,
  range: [number, number],
  measure: Measure = aurocMeasure(labels),
): Interval {
  const k = replicateCount(models);
  const point = measured(models, null, measure);
  const vals = Array.from({ length: k }, (_, r) => stat(point, r));
  const value = mean(vals);
  const resampled = bootstrapIndices(labels, boot.n, boot.seed, boot.bothClasses ?? true)
    .map((idx) => {
      const a = measured(models, idx, measure);
      return mean(Array.from({ length: k }, (_, r) => stat(a, r)));
    })
    .filter(Number.isFinite);
  if (k === 1) {
    const sorted = resampled.sort((x, y) => x - y);
    return { value, lo: percentile(sorted, 0.025), hi: percentile(sorted, 0.975) };
  }
  return combined(value, variance(resampled), vals, range);
}

/** mean ± t·se with se² = test variance + seed variance / k, bounded to the statistic's range. */
function combined(value: number, vTest: number, perReplicate: number[], range: [number, number]): Interval {
  const k = perReplicate.length;
  const vSeed = variance(perReplicate) / k;
  const v = vTest + vSeed;
  const se = Math.sqrt(v);
  // Welch–Satterthwaite: the test part's bootstrap variance is known to many degrees of freedom, the seed part to k − 1
  const df = vSeed > 0 ? (v * v) / ((vSeed * vSeed) / (k - 1)) : Infinity;
  const t = tQuantile(0.975, df);
  return {
    value,
    lo: Math.max(range[0], value - t * se),
    hi: Math.min(range[1], value + t * se),
    replicates: perReplicate,
    se,
    df,
  };
}

/** A model's AUROC, over its replicates. */
export function aurocOver(labels: Labels, model: Replicates, boot: Boot): Interval {
  return overReplicates(labels, [model], boot, (a, r) => at(a, 0, r), [0, 1]);
}

/** Any per-replicate measure of one model (the share of answers agreeing with some labels, say), over replicates. */
export function measureOver(
  labels: Labels,
  model: Replicates,
  boot: Boot & { bothClasses?: boolean },
  measure: Measure,
  range: [number, number] = [-Infinity, Infinity],
): Interval {
  return overReplicates(labels, [model], boot, (a, r) => at(a, 0, r), range, measure);
}

/**
 * A proportion near 0 or 1 (the recall of summaries) over few items: Wilson's score interval, which keeps its
 * coverage where the bootstrap's percentile interval does not. Over replicates (each replicate's successes out of the
 * same n items), the mean proportion with n shrunk by the design effect of the replicates' spread.
 */
export function proportionOver(successes: number[], n: number): Interval {
  const k = successes.length;
  const shares = successes.map((x) => x / n);
  const p = mean(shares);
  const vBinom = (p * (1 - p)) / n;
  const vSeed = k > 1 ? variance(shares) / k : 0;
  const nEff = vBinom > 0 ? (n * vBinom) / (vBinom + vSeed) : n;
  const z = 1.959963984540054;
  const centre = (p + (z * z) / (2 * nEff)) / (1 + (z * z) / nEff);
  const half = (z / (1 + (z * z) / nEff)) * Math.sqrt((p * (1 - p)) / nEff + (z * z) / (4 * nEff * nEff));
  return {
    value: p,
    lo: Math.max(0, centre - half),
    hi: Math.min(1, centre + half),
    ...(k > 1 ? { replicates: shares } : {}),
  };
}

/** AUROC(b) − AUROC(a) on the same examples, replicate r of each paired. */
export function diffOver(labels: Labels, a: Replicates, b: Replicates, boot: Boot): Interval {
  return overReplicates(labels, [a, b], boot, (x, r) => at(x, 1, r) - at(x, 0, r), [-1, 1]);
}

/**
 * Gap recovered = (other − untrained) / (in-domain − untrained), as the ratio of the mean gains over replicates.
 * NaN where the in-domain model does not beat the untrained one; with one replicate, resamples without a gap are
 * dropped from the percentile interval and counted in `dropped` (the caller decides whether to give the figure at
 * all: over a small gap it is not worth giving).
 */
export function gapOver(
  labels: Labels,
  untrained: Replicates,
  inDomain: Replicates,
  other: Replicates,
  boot: Boot,
): Interval & { dropped: number } {
  const models = [untrained, inDomain, other];
  const k = replicateCount(models);
  const ratio = (a: number[][]) => {
    let num = 0,
      den = 0;
    for (let r = 0; r < k; r++) {
      num += at(a, 2, r) - at(a, 0, r);
      den += at(a, 1, r) - at(a, 0, r);
    }
    return den > 1e-9 ? num / den : NaN;
  };
  const m = aurocMeasure(labels);
  const point = measured(models, null, m);
  const value = ratio(point);
  const all = bootstrapIndices(labels, boot.n, boot.seed).map((idx) => ratio(measured(models, idx, m)));
  const resampled = all.filter(Number.isFinite);
  const dropped = all.length - resampled.length;
  if (k === 1 || !Number.isFinite(value)) {
    const sorted = resampled.sort((x, y) => x - y);
    return sorted.length
      ? { value, lo: percentile(sorted, 0.025), hi: percentile(sorted, 0.975), dropped }
      : { value, lo: NaN, hi: NaN, dropped };
  }
  // the delta method's linearisation of a ratio of means: replicate r's (gain − g·gap) / mean gap
  const den = mean(Array.from({ length: k }, (_, r) => at(point, 1, r) - at(point, 0, r)));
  const lin = Array.from(
    { length: k },
    (_, r) => value + (at(point, 2, r) - at(point, 0, r) - value * (at(point, 1, r) - at(point, 0, r))) / den,
  );
  const perReplicate = Array.from(
    { length: k },
    (_, r) => (at(point, 2, r) - at(point, 0, r)) / (at(point, 1, r) - at(point, 0, r)),
  );
  return { ...combined(value, variance(resampled), lin, [-Infinity, Infinity]), replicates: perReplicate, dropped };
}
