/**
 * Domain-to-domain similarity measured on the texts themselves: cosine of the domains' word document-frequency
 * vectors, each word weighted by its inverse domain frequency (a word used by every domain, like "the", counts 0).
 */
import { exampleText, type Task } from "./task.js";
import { vocabulary, vocabularyCosine } from "./text-features.js";

export interface SimilarityMatrix {
  domains: string[];
  values: number[][];
}

export function domainSimilarity(tasks: Task[]): SimilarityMatrix {
  const texts = new Map<string, Set<string>>();
  for (const t of tasks) {
    const set = texts.get(t.domain) ?? new Set<string>();
    for (const e of t.examples) set.add(exampleText(e));
    texts.set(t.domain, set);
  }
  const domains = [...texts.keys()];
  const raw = domains.map((d) => vocabulary([...texts.get(d)!]));
  const sizes = domains.map((d) => texts.get(d)!.size);
  const domainFreq = new Map<string, number>();
  for (const v of raw) for (const w of v.keys()) domainFreq.set(w, (domainFreq.get(w) ?? 0) + 1);
  const vocabs = raw.map(
    (v) =>
      new Map(
        [...v]
          .map(([w, c]) => [w, c * Math.log(domains.length / domainFreq.get(w)!)] as [string, number])
          .filter(([, c]) => c > 0),
      ),
  );
  const values = domains.map((_, i) =>
    domains.map((__, j) => vocabularyCosine(vocabs[i], vocabs[j], sizes[i], sizes[j])),
  );
  return { domains, values };
}

export function formatMatrix(m: SimilarityMatrix): string {
  const w = Math.max(...m.domains.map((d) => d.length));
  const short = m.domains.map((d) => d.slice(0, 7).padStart(7));
  const lines = [`${"".padEnd(w)}  ${short.join(" ")}`];
  m.domains.forEach((d, i) =>
    lines.push(`${d.padEnd(w)}  ${m.values[i].map((v) => v.toFixed(2).padStart(7)).join(" ")}`),
  );
  return lines.join("\n");
}
