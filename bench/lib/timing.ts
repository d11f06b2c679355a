/** Timing for the benches: the median of n timed calls, after warm-up calls that are not counted. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  // of an even count, the mean of the middle two: the upper one alone would favour whoever's ratio is on top
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function timed(fn: () => void, n: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return median(ts);
}

/** Calls per second of fn: one untimed call, then as many as fit in at least minSeconds. */
export function callsPerSecond(fn: () => void, minSeconds: number): number {
  fn();
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let seconds = 0;
  while (seconds < minSeconds) {
    fn();
    calls++;
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return calls / seconds;
}
