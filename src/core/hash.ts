/** Content keys (a short hash of a value's JSON, for cells and cached model calls) and a stable 32-bit text hash. */
import { createHash } from "node:crypto";

export function hashKey(v: unknown): string {
  return createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 24);
}

/** FNV-1a 32-bit over UTF-16 code units: stable across releases, for splits, seeds and leakage checks. */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
