/** Shared pieces of the offline builders: a source yields labelled texts for tasks; the builder balances them. */
import { fnv1a } from "../../core/hash.js";
import { normaliseText } from "../hash.js";
import { DEFAULT_ANSWERS, DEFAULT_LABELS, type Task } from "../task.js";

export interface OfflineTaskSpec {
  id: string;
  prompt: string;
  /** how the label is read from the data, for the manifest and the docs */
  rule: string;
}

export interface OfflineItem {
  id: string;
  text: string;
  /** label per task id of the source */
  labels: Record<string, boolean>;
  meta?: Record<string, unknown>;
}

export interface OfflineSource {
  name: string;
  domain: string;
  /** where it reads from; null when the source is absent here, with the reason */
  locate(): { where: string; version?: string } | { absent: string };
  tasks: OfflineTaskSpec[];
  read(where: string): OfflineItem[];
}

/**
 * Keeps distinct texts only, then a balanced sample per task (at most max/2 of each label, chosen by a seeded hash,
 * so the result is the same on every machine with the same source files).
 */
export function toTasks(src: OfflineSource, items: OfflineItem[], max: number, where: string): Task[] {
  const seen = new Set<string>();
  const unique = items.filter((it) => {
    const k = normaliseText(it.text);
    if (!k || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return src.tasks.map((spec) => {
    const ranked = unique
      .map((it) => ({ it, h: fnv1a(`${spec.id}\0${it.id}`) }))
      .sort((a, b) => a.h - b.h || (a.it.id < b.it.id ? -1 : 1));
    const pos = ranked.filter((r) => r.it.labels[spec.id]);
    const neg = ranked.filter((r) => !r.it.labels[spec.id]);
    const k = Math.min(Math.floor(max / 2), pos.length, neg.length);
    const chosen = [...pos.slice(0, k), ...neg.slice(0, k)].sort((a, b) => a.h - b.h);
    return {
      id: spec.id,
      domain: src.domain,
      prompt: spec.prompt,
      labels: { ...DEFAULT_LABELS },
      answers: { ...DEFAULT_ANSWERS },
      source: `offline:${src.name}(${where})`,
      examples: chosen.map(({ it }) => ({
        id: it.id,
        text: it.text,
        label: it.labels[spec.id],
        ...(it.meta ? { meta: it.meta } : {}),
      })),
    };
  });
}

/** Cuts a long text to about n characters at a word boundary. */
export function clip(text: string, n = 1200): string {
  if (text.length <= n) return text;
  const cut = text.lastIndexOf(" ", n);
  return `${text.slice(0, cut > n / 2 ? cut : n)} …`;
}
