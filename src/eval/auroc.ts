/**
 * Area under the ROC curve, equal to scikit-learn's roc_auc_score: the Mann–Whitney statistic with tied scores
 * given their average rank (a tie between a positive and a negative counts one half).
 */
export function auroc(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>): number {
  const n = labels.length;
  if (scores.length !== n) throw new Error(`auroc: ${n} labels but ${scores.length} scores`);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new Error(`auroc: score ${i} is NaN`);
    if (labels[i] === true || labels[i] === 1) pos++;
    else if (!(labels[i] === false || labels[i] === 0))
      throw new Error(`auroc: label ${i} is ${labels[i]}, expected 0/1 or boolean`);
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) throw new Error("auroc: needs at least one positive and one negative label");
  const ranks = averageRanks(scores);
  let rankSumPos = 0;
  for (let i = 0; i < n; i++) if (labels[i] === true || labels[i] === 1) rankSumPos += ranks[i];
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** 1-based ranks, tied values sharing their average rank (as scipy.stats.rankdata's "average"). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's rank correlation (Pearson's on average ranks); NaN when either side is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: ${a.length} against ${b.length} values`);
  const ra = averageRanks(a),
    rb = averageRanks(b);
  const mean = (ra.length + 1) / 2; // the mean of 1..n, kept by average ranks
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < ra.length; i++) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) ** 2;
    sbb += (rb[i] - mean) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/**
 * AUROC of many resamples of one set of scores: the scores sorted once into tie groups, then each resample (as how
 * many times it drew each example) in one pass, with no sort. Equal to auroc() on the resampled arrays.
 */
export class ResampledAuroc {
  /** examples in ascending score order, and where each tie group starts in it (one past the end last) */
  private readonly order: Int32Array;
  private readonly groups: Int32Array;
  constructor(
    private readonly labels: ArrayLike<number | boolean>,
    scores: ArrayLike<number>,
  ) {
    const n = scores.length;
    this.order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
    const starts: number[] = [];
    for (let i = 0; i < n; i++) if (i === 0 || scores[this.order[i]] !== scores[this.order[i - 1]]) starts.push(i);
    starts.push(n);
    this.groups = Int32Array.from(starts);
  }

  /** counts[i]: how many times the resample drew example i. NaN when it holds one class only. */
  of(counts: ArrayLike<number>): number {
    let negBelow = 0,
      sum = 0,
      pos = 0;
    for (let g = 0; g + 1 < this.groups.length; g++) {
      let p = 0,
        q = 0;
      for (let k = this.groups[g]; k < this.groups[g + 1]; k++) {
        const i = this.order[k];
        const l = this.labels[i];
        if (l === true || l === 1) p += counts[i];
        else q += counts[i];
      }
      sum += p * (negBelow + 0.5 * q);
      negBelow += q;
      pos += p;
    }
    return pos > 0 && negBelow > 0 ? sum / (pos * negBelow) : NaN;
  }
}
