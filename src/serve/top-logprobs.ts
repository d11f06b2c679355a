/**
 * The k most likely tokens of a next-token distribution, most likely first (ties by lower id), found in one pass over
 * the vocabulary with a k-long sorted list: logprobs ask for at most 20, where sorting all 150k ids per generated
 * token cost more than the token.
 */
export function topIds(lp: Float32Array, k: number): number[] {
  const n = Math.min(Math.max(0, Math.floor(k)), lp.length);
  if (n === 0) return [];
  const ids: number[] = [];
  for (let i = 0; i < lp.length; i++) {
    const v = lp[i];
    if (ids.length === n && !(v > lp[ids[n - 1]])) continue;
    // insert after every kept id whose value is at least v (equal values keep the lower id first)
    let at = ids.length === n ? n - 1 : ids.length;
    while (at > 0 && lp[ids[at - 1]] < v) at--;
    if (ids.length === n) ids.pop();
    ids.splice(at, 0, i);
  }
  return ids;
}
