/** Stable text hashing (FNV-1a 32-bit over UTF-16 code units), for splits and leakage checks. */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Whitespace- and case-insensitive form of a text, so trivial variants count as the same text. */
export function normaliseText(s: string): string {
  return s.toLowerCase().replace(/\s+/g, " ").trim();
}
