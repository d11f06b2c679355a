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
    else if (!(labels[i] === false || labels[i] === 0)) throw new Error(`auroc: label ${i} is ${labels[i]}, expected 0/1 or boolean`);
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) throw new Error("auroc: needs at least one positive and one negative label");
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let k = i; k <= j; k++) if (labels[order[k]] === true || labels[order[k]] === 1) rankSumPos += avgRank;
    i = j + 1;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}
