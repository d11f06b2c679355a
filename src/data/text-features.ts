/** Word-level features of texts: the tokens behind the bag-of-words baseline and the domain similarity matrix. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9_]+(?:'[a-z]+)?/g) ?? [];
}

export function vocabulary(texts: string[], minCount = 1): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of new Set(words(t))) counts.set(w, (counts.get(w) ?? 0) + 1);
  return new Map([...counts].filter(([, c]) => c >= minCount));
}

/** Cosine similarity of the two corpora's document-frequency vectors (0 = no shared words, 1 = same usage). */
export function vocabularyCosine(a: Map<string, number>, b: Map<string, number>, sizeA: number, sizeB: number): number {
  let dot = 0,
    na = 0,
    nb = 0;
  for (const [w, c] of a) {
    const fa = c / sizeA;
    na += fa * fa;
    const cb = b.get(w);
    if (cb) dot += fa * (cb / sizeB);
  }
  for (const c of b.values()) nb += (c / sizeB) ** 2;
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}
