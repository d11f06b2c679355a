#pragma once
// What both attention paths share: which keys a query sees, and the softmax over them.
namespace cm {
// keys 0..n-1 are visible to a query at position lastPos (causal) with `valid` real keys, out of Tk
inline int visible_keys(int lastPos, int valid, int Tk) {
  int n = lastPos + 1;
  if (n > valid) n = valid;
  if (n > Tk) n = Tk;
  return n < 0 ? 0 : n;
}

// the first key a query at position pos sees through a sliding window (0 without one)
inline int first_key(int pos, int window) {
  int lo = window > 0 ? pos - window + 1 : 0;
  return lo < 0 ? 0 : lo;
}

// row[lo..n) = softmax(row[lo..n)) (soft-capped first when softcap > 0), the rest of row[0..Tk) = 0; all of it 0
// when lo >= n (lo may lie beyond Tk then: a sliding window past a padded sequence's last real key). Returns the log
// of the softmax's normaliser, log Σ exp over row[lo..n) (what the backward recomputes the probabilities from), +inf
// when no key is visible.
float softmax_range(float* row, int lo, int n, int Tk, float softcap);
}  // namespace cm
