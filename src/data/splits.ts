/**
 * Deterministic, stratified train/validation/test splits. The unit of splitting is the text, shared by every task
 * of a domain: a text sits in the same split under every prompt, so the prompt-change experiments never evaluate
 * on a text that was trained under another prompt. Texts are stratified by their labels across the domain's tasks.
 */
import { InputError } from "../core/errors.js";
import { fnv1a } from "../core/hash.js";
import { normaliseText } from "./hash.js";
import { exampleText, type Example, type Task } from "./task.js";

export type SplitName = "train" | "validation" | "test";
export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}
export const DEFAULT_FRACTIONS: SplitFractions = { train: 0.7, validation: 0.1, test: 0.2 };

export interface SplitTask {
  task: Task;
  train: Example[];
  validation: Example[];
  test: Example[];
}

export function splitTasks(tasks: Task[], seed = 0, fractions: SplitFractions = DEFAULT_FRACTIONS): SplitTask[] {
  const total = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(total - 1) > 1e-9) throw new Error(`split fractions must sum to 1, got ${total}`);
  const assignment = new Map<string, SplitName>(); // domain \0 unit (a group, or a normalised text) → split
  const units = new Map<string, (e: Example) => string>();
  const byDomain = new Map<string, Task[]>();
  // arrays grow in place: copying one per row made splitting quadratic (100k rows took minutes)
  for (const t of tasks) {
    const list = byDomain.get(t.domain);
    if (list) list.push(t);
    else byDomain.set(t.domain, [t]);
  }
  for (const [domain, dts] of byDomain) {
    // the domain's fractions: its tasks' own where they give them (all the same: they share texts), else the default
    const declared = dts.filter((t) => t.split && !t.eval_only);
    const own = declared[0]?.split;
    const clash = declared.find((t) => JSON.stringify(t.split) !== JSON.stringify(own));
    if (own && clash)
      throw new InputError(
        `tasks "${declared[0].id}" and "${clash.id}" share domain "${domain}" but not their split fractions ` +
          `(${JSON.stringify(own)} and ${JSON.stringify(clash.split)}): give them the same split`,
        clash.source,
      );
    const f = own ?? fractions;
    // the unit a split holds whole: an example's group where it has one (a text seen in a group anywhere in the
    // domain goes with that group), else its text
    const groupOfText = new Map<string, string>();
    for (const t of dts)
      for (const e of t.examples) if (e.group !== undefined) groupOfText.set(normaliseText(exampleText(e)), e.group);
    const unitOf = (e: Example) => {
      const text = normaliseText(exampleText(e));
      const group = e.group ?? groupOfText.get(text);
      return group === undefined ? text : `\u0000group\u0000${group}`;
    };
    units.set(domain, unitOf);
    // an evaluation-only task's units are test examples, under every task of the domain
    const testOnly = new Set(dts.filter((t) => t.eval_only).flatMap((t) => t.examples.map(unitOf)));
    // stratum of a unit: its labels under each task of the domain ("1", "0" or "-" when a task lacks it; a group
    // with both labels under one task counts as positive)
    const strata = new Map<string, string[]>();
    const labels = new Map<string, string[]>();
    dts.forEach((t, ti) => {
      for (const e of t.examples) {
        const k = unitOf(e);
        if (!labels.has(k))
          labels.set(
            k,
            dts.map(() => "-"),
          );
        if (labels.get(k)![ti] !== "1") labels.get(k)![ti] = e.label ? "1" : "0";
      }
    });
    for (const [text, ls] of labels) {
      const s = ls.join("");
      const list = strata.get(s);
      if (list) list.push(text);
      else strata.set(s, [text]);
    }
    for (const [stratum, texts] of [...strata.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const t of texts) if (testOnly.has(t)) assignment.set(`${domain}\0${t}`, "test");
      const ordered = texts
        .filter((t) => !testOnly.has(t))
        .map((t) => ({ t, h: fnv1a(t, fnv1a(`${seed}\0${domain}\0${stratum}`)) }))
        .sort((a, b) => a.h - b.h || (a.t < b.t ? -1 : 1));
      const nTrain = Math.round(ordered.length * f.train);
      const nVal = Math.round(ordered.length * (f.train + f.validation)) - nTrain;
      ordered.forEach(({ t }, i) =>
        assignment.set(`${domain}\0${t}`, i < nTrain ? "train" : i < nTrain + nVal ? "validation" : "test"),
      );
    }
  }
  return tasks.map((task) => {
    const out: SplitTask = { task, train: [], validation: [], test: [] };
    const unitOf = units.get(task.domain)!;
    for (const e of task.examples) out[assignment.get(`${task.domain}\0${unitOf(e)}`)!].push(e);
    return out;
  });
}

export interface Leak {
  text: string;
  trainIn: string;
  evalIn: string;
  evalSplit: SplitName;
}

/** Texts that appear in a training split and in an evaluation split, across all tasks. */
export function findLeaks(splits: SplitTask[]): Leak[] {
  const train = new Map<string, string>();
  // a task's unlabelled pool is trained on too (with pseudo-labels)
  for (const s of splits)
    for (const e of [...s.train, ...(s.task.pool ?? [])])
      train.set(normaliseText(exampleText(e)), `${s.task.id}/${e.id}`);
  const leaks: Leak[] = [];
  for (const s of splits) {
    for (const split of ["validation", "test"] as const) {
      for (const e of s[split]) {
        const k = normaliseText(exampleText(e));
        const hit = train.get(k);
        if (hit) leaks.push({ text: k.slice(0, 80), trainIn: hit, evalIn: `${s.task.id}/${e.id}`, evalSplit: split });
      }
    }
  }
  return leaks;
}

export interface BalanceRow {
  task: string;
  split: SplitName;
  n: number;
  positives: number;
  positiveRate: number;
}

export function balanceReport(splits: SplitTask[]): BalanceRow[] {
  return splits.flatMap((s) =>
    (["train", "validation", "test"] as const).map((split) => {
      const n = s[split].length;
      const positives = s[split].filter((e) => e.label).length;
      return { task: s.task.id, split, n, positives, positiveRate: n ? positives / n : 0 };
    }),
  );
}
