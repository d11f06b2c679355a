/** Whitespace- and case-insensitive form of a text, so trivial variants count as the same text. */
export function normaliseText(s: string): string {
  return s.toLowerCase().replace(/\s+/g, " ").trim();
}
