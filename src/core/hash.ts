/** Content keys: a short hash of a value's JSON, for cells and cached model calls. */
import { createHash } from "node:crypto";

export function hashKey(v: unknown): string {
  return createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 24);
}
