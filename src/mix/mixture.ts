/**
 * Mixtures: classification examples from many tasks (each with its own prompt and count), instruction-following
 * conversations, optional prompt-contrast pairs, mixed at a ratio counted in examples or in loss tokens, with a loss
 * weight per source. Dilution is counted per source: examples, loss tokens, and share of the total loss weight.
 */
import { InputError } from "../core/errors.js";
import { Rng } from "../core/random.js";
import type { WeightedSequence } from "../engine/sequences.js";
import type { SplitTask } from "../data/splits.js";
import type { Example, Task } from "../data/task.js";
import type { IfExample } from "../data/world/instructions.js";
import type { Renderer } from "../formats/render.js";

export interface ClassificationPart {
  task: string;
  examples: number;
  /** labels to train on instead of the true ones (unsupervised elicitation), by example id */
  pseudoLabels?: Map<string, boolean>;
}

export interface MixtureSpec {
  classification: ClassificationPart[];
  /** IF conversations: a fixed count, or a share of the mixture counted in examples or in loss tokens */
  instruction?: { examples: number } | { share: number; by: "examples" | "tokens" };
  /** each training text also appears under another prompt of its domain, with that prompt's label */
  promptContrast?: boolean;
  /** tasks never used as contrast partners */
  contrastExclude?: string[];
  sourceWeights?: { classification?: number; instruction?: number; contrast?: number };
  seed?: number;
}

export type SourceName = "classification" | "instruction" | "contrast";

export interface MixItem extends WeightedSequence {
  source: SourceName;
  truncated: boolean;
  /** the same example as chat messages, with a training weight on assistant turns (for hosted fine-tuning exports) */
  chat: { role: string; content: string; weight?: number }[];
}

export interface DilutionRow {
  source: SourceName;
  examples: number;
  lossTokens: number;
  lossWeight: number;
  share: number;
}

export interface BuiltMixture {
  items: MixItem[];
  truncated: number;
}

function pickExamples(pool: Example[], n: number, rng: Rng, what: string): Example[] {
  if (n > pool.length) throw new InputError(`${what}: asks for ${n} examples, the training split has ${pool.length}`);
  return rng
    .shuffle(pool.map((_, i) => i))
    .slice(0, n)
    .map((i) => pool[i]);
}

function weighted(seq: { ids: number[]; weights: number[] }, w: number): { ids: number[]; weights: number[] } {
  return w === 1 ? seq : { ids: seq.ids, weights: seq.weights.map((x) => x * w) };
}

export function buildMixture(
  spec: MixtureSpec,
  splits: SplitTask[],
  ifPool: IfExample[],
  renderer: Renderer,
): BuiltMixture {
  const rng = new Rng(spec.seed ?? 0);
  const byId = new Map(splits.map((s) => [s.task.id, s]));
  const sw = { classification: 1, instruction: 1, contrast: 1, ...spec.sourceWeights };
  const items: MixItem[] = [];
  for (const part of spec.classification) {
    const s = byId.get(part.task);
    if (!s)
      throw new InputError(`unknown task "${part.task}" in the mixture (available: ${[...byId.keys()].join(", ")})`);
    if (s.task.eval_only)
      throw new InputError(`task "${part.task}" is eval_only: it is evaluated on all its data and never trained on`);
    // with pseudo-labels, only the examples that were labelled (in a fixed order) are candidates: from the training
    // split, or from the task's unlabelled pool (whose stand-in label is replaced by the pseudo-label below)
    const labelled = part.pseudoLabels ? [...s.train, ...(s.task.pool ?? []).map((e) => ({ ...e, label: false }))] : [];
    const pool = part.pseudoLabels ? labelled.filter((e) => part.pseudoLabels!.has(e.id)) : s.train;
    for (const e of pickExamples(pool, part.examples, rng, `task ${part.task}`)) {
      const label = part.pseudoLabels?.get(e.id) ?? e.label;
      const r = renderer.singleToken(s.task, { ...e, label });
      const answer = (label ? s.task.answers.positive : s.task.answers.negative).trim();
      items.push({
        ...weighted(r.train, sw.classification),
        source: "classification",
        truncated: r.truncated,
        chat: [...r.messages, { role: "assistant", content: answer, weight: 1 }],
      });
      if (spec.promptContrast) {
        // the same text under each other prompt of its domain, with that prompt's own label
        for (const other of splits.filter(
          (o) =>
            o.task.domain === s.task.domain && o.task.id !== s.task.id && !spec.contrastExclude?.includes(o.task.id),
        )) {
          const twin = other.train.find((x) => x.id === e.id) ?? findByText(other.task, e);
          if (!twin) continue;
          const rc = renderer.singleToken(other.task, twin);
          const ans = (twin.label ? other.task.answers.positive : other.task.answers.negative).trim();
          items.push({
            ...weighted(rc.train, sw.contrast),
            source: "contrast",
            truncated: rc.truncated,
            chat: [...rc.messages, { role: "assistant", content: ans, weight: 1 }],
          });
        }
      }
    }
  }
  const cls = items.length;
  const clsTokens = items.reduce((n, it) => n + lossTokens(it), 0);
  let nIf = 0;
  const ins = spec.instruction;
  if (ins && "examples" in ins) nIf = ins.examples;
  else if (ins) {
    if (!(ins.share >= 0 && ins.share < 1))
      throw new InputError(`instruction share must be in [0, 1), got ${ins.share}`);
    if (ins.by === "examples") nIf = Math.round((ins.share / (1 - ins.share)) * cls);
    else {
      // loss tokens: IF examples carry many; count from a rendered sample of the pool
      const sample = ifPool
        .slice(0, Math.min(200, ifPool.length))
        .map((c) => lossTokens(renderer.conversation(c.messages)));
      const mean = sample.reduce((a, b) => a + b, 0) / Math.max(1, sample.length);
      nIf = Math.round((ins.share / (1 - ins.share)) * (clsTokens / Math.max(1, mean)));
    }
  }
  if (nIf > ifPool.length)
    throw new InputError(`the mixture needs ${nIf} instruction examples, the pool has ${ifPool.length}`);
  for (const c of ifPool.slice(0, nIf)) {
    const r = renderer.conversation(c.messages);
    items.push({
      ...weighted(r, sw.instruction),
      source: "instruction",
      truncated: r.truncated,
      chat: c.messages.map((m) => (m.role === "assistant" ? { ...m, weight: 1 } : m)),
    });
  }
  // one deterministic order for the whole mixture
  rng.shuffle(items);
  return { items, truncated: items.filter((i) => i.truncated).length };
}

function findByText(task: Task, e: Example): Example | undefined {
  return task.examples.find((x) => x.text === e.text);
}

export function lossTokens(s: WeightedSequence): number {
  let n = 0;
  for (let t = 1; t < s.weights.length; t++) if (s.weights[t] > 0) n++;
  return n;
}

/** Per-source examples, loss tokens and share of the total loss weight, for the items given (as trained). */
export function dilution(items: { source: SourceName; weights: ArrayLike<number> }[]): DilutionRow[] {
  const rows = new Map<SourceName, DilutionRow>();
  let total = 0;
  for (const it of items) {
    const r = rows.get(it.source) ?? { source: it.source, examples: 0, lossTokens: 0, lossWeight: 0, share: 0 };
    r.examples++;
    for (let t = 1; t < it.weights.length; t++) {
      if (it.weights[t] > 0) r.lossTokens++;
      r.lossWeight += it.weights[t];
      total += it.weights[t];
    }
    rows.set(it.source, r);
  }
  for (const r of rows.values()) r.share = total ? r.lossWeight / total : 0;
  return [...rows.values()];
}

export function formatDilution(rows: DilutionRow[]): string {
  return rows
    .map(
      (r) =>
        `${r.source.padEnd(15)} ${String(r.examples).padStart(7)} examples ${String(r.lossTokens).padStart(9)} ` +
        `loss tokens  ${(100 * r.share).toFixed(1).padStart(5)}% of the loss`,
    )
    .join("\n");
}
