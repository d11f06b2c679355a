/**
 * The examples behind an evaluation: its rows filtered and sorted as a query asks, the rates at a threshold, one
 * example as it was scored (the rendered prompt with its answer tokens, the built-in world's facts found in the text,
 * the same model's thinking traces and summary of it), and two models side by side. Query parameters are checked
 * with zod: a bad one is a 400 with the reason.
 */
import { z } from "zod";
import type { TransformRecord } from "../data/transforms/transform.js";
import { Renderer } from "../formats/render.js";
import { exampleText, type Example, type Task } from "../data/task.js";
import { evidenceKeys } from "../eval/evidence.js";
import type { EvalCell } from "../experiments/plan.js";
import type { PredictionRow } from "../experiments/store.js";
import { modelLabel, rendererOf, type RunEntry } from "./runs.js";

export class BadRequest extends Error {}
export class NotFound extends Error {}

const bool = z.enum(["1", "0", "true", "false"]).transform((v) => v === "1" || v === "true");
const threshold = z.coerce.number().min(0).max(1).default(0.5);

export const ExamplesQuery = z
  .object({
    threshold,
    label: z.enum(["all", "positive", "negative"]).default("all"),
    errors: bool.default(false),
    q: z.string().max(200).default(""),
    sort: z.enum(["id", "p", "label", "length", "correct"]).default("p"),
    order: z.enum(["asc", "desc"]).default("desc"),
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const CompareQuery = z
  .object({
    a: z.string().min(1),
    b: z.string().min(1),
    threshold,
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();

export function parseQuery<T>(schema: z.ZodType<T>, params: URLSearchParams): T {
  const r = schema.safeParse(Object.fromEntries(params));
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new BadRequest(`parameter "${i.path.join(".") || "?"}": ${i.message}`);
}

export function cellOf(run: RunEntry, key: string): EvalCell {
  const c = run.ctx.plan.evals.find((e) => e.key === key);
  if (!c) throw new NotFound(`no evaluation "${key}" in run ${run.id}`);
  return c;
}

/** A cell's task and the examples of the split it scored, by id (only that split: a transformed task's others stay
 * untransformed until read). */
function taskOf(run: RunEntry, c: EvalCell): { task: Task; byId: Map<string, Example> } {
  const s = run.ctx.train.splits.find((x) => x.task.id === c.task);
  if (!s) throw new NotFound(`no task "${c.task}" in run ${run.id}`);
  const examples: Example[] =
    c.split === "pool" ? (s.task.pool ?? []).map((e) => ({ ...e, label: false })) : s[c.split];
  return { task: s.task, byId: new Map(examples.map((e) => [e.id, e])) };
}

export interface ExampleRow {
  id: string;
  /** 1 positive, 0 negative, -1 unknown (an unlabelled pool) */
  label: number;
  p: number;
  correct: boolean | null;
  length: number;
}

function rowsOf(run: RunEntry, c: EvalCell, t: number, byId: Map<string, Example>): ExampleRow[] {
  return run.ctx.store.predictions(c.key).map((r: PredictionRow) => {
    const e = byId.get(r.example);
    return {
      id: r.example,
      label: r.label,
      p: r.score,
      correct: r.label < 0 || r.score < 0 ? null : r.score >= t === (r.label === 1),
      length: e ? exampleText(e).length : 0,
    };
  });
}

export interface Rates {
  threshold: number;
  tpr: number | null;
  fpr: number | null;
  accuracy: number | null;
}

export function ratesAt(rows: ExampleRow[], t: number): Rates {
  const known = rows.filter((r) => r.label >= 0 && r.p >= 0);
  const pos = known.filter((r) => r.label === 1);
  const neg = known.filter((r) => r.label === 0);
  const ratio = (n: number, d: number) => (d ? n / d : null);
  return {
    threshold: t,
    tpr: ratio(pos.filter((r) => r.p >= t).length, pos.length),
    fpr: ratio(neg.filter((r) => r.p >= t).length, neg.length),
    accuracy: ratio(known.filter((r) => r.correct).length, known.length),
  };
}

export function examplesOf(run: RunEntry, key: string, params: URLSearchParams) {
  const c = cellOf(run, key);
  const q = parseQuery(ExamplesQuery, params);
  const { byId } = taskOf(run, c);
  const all = rowsOf(run, c, q.threshold, byId);
  const needle = q.q.toLowerCase();
  const rows = all.filter(
    (r) =>
      (q.label === "all" || (q.label === "positive" ? r.label === 1 : r.label === 0)) &&
      (!q.errors || r.correct === false) &&
      (!needle ||
        r.id.toLowerCase().includes(needle) ||
        exampleText(byId.get(r.id) ?? { text: "" })
          .toLowerCase()
          .includes(needle)),
  );
  const dir = q.order === "asc" ? 1 : -1;
  const value = (r: ExampleRow) => (q.sort === "correct" ? Number(r.correct) : r[q.sort]);
  rows.sort((x, y) => {
    const a = value(x);
    const b = value(y);
    return (a < b ? -1 : a > b ? 1 : 0) * dir || x.id.localeCompare(y.id);
  });
  return {
    eval: { ...c, model: modelLabel(run.ctx, c.model) },
    total: rows.length,
    rates: ratesAt(all, q.threshold),
    rows: rows.slice(q.offset, q.offset + q.limit),
  };
}

/** Where the built-in world's facts about an example appear in its text (start, end, which fact). */
export function factSpans(e: Example, text: string): { start: number; end: number; fact: string }[] {
  const keys = new Map<string, string>();
  for (const k of evidenceKeys(e) ?? []) keys.set(k, "evidence");
  for (const [name, v] of Object.entries(e.facts ?? {}))
    if ((typeof v === "string" && v.length >= 3 && v.length <= 200) || typeof v === "number") keys.set(String(v), name);
  const spans: { start: number; end: number; fact: string }[] = [];
  for (const [needle, fact] of keys) {
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length))
      spans.push({ start: at, end: at + needle.length, fact });
  }
  // longest first at a position, then no overlaps
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: typeof spans = [];
  for (const s of spans) if (!out.length || s.start >= out[out.length - 1].end) out.push(s);
  return out;
}

/** What a transform inserted (marked "inserted"), with the facts that lie outside it. */
function insertedSpans(t: TransformRecord, facts: { start: number; end: number; fact: string }[]) {
  const inserted = t.inserted.map((s) => ({ ...s, fact: "inserted" }));
  const outside = facts.filter((f) => inserted.every((s) => f.end <= s.start || f.start >= s.end));
  return [...inserted, ...outside].sort((a, b) => a.start - b.start);
}

export function exampleDetail(run: RunEntry, key: string, id: string) {
  const c = cellOf(run, key);
  const { task, byId } = taskOf(run, c);
  const e = byId.get(id);
  if (!e) throw new NotFound(`no example "${id}" in task ${c.task}`);
  const text = exampleText(e);
  const transform = (e.meta?.transform as TransformRecord | undefined) ?? null;
  // the prompt as the cell scored it: with its own budget where it has one (long inputs)
  const renderer = c.maxTokens ? new Renderer(rendererOf(run).tok, c.maxTokens) : rendererOf(run);
  const scored = renderer.singleToken(task, e);
  const sameModel = (format: EvalCell["format"]) =>
    run.ctx.plan.evals.filter((x) => x.model === c.model && x.task === c.task && x.format === format);
  const rowIn = (cells: EvalCell[]) =>
    cells.flatMap((x) => run.ctx.store.predictions(x.key).filter((r) => r.example === id));
  const single = rowIn([c]).find(() => true) ?? rowIn(sameModel("single"))[0];
  return {
    id,
    task: task.id,
    model: modelLabel(run.ctx, c.model),
    label: single?.label ?? (c.split === "pool" ? -1 : e.label ? 1 : 0),
    p: single?.score ?? null,
    text,
    facts: e.facts ?? null,
    highlights: transform ? insertedSpans(transform, factSpans(e, text)) : factSpans(e, text),
    transform,
    provenance: provenanceOf(e),
    prompt: renderer.tok.decode(scored.promptIds),
    answers: scored.candidates.map((tokenId, i) => ({
      token: renderer.tok.decode([tokenId]),
      label: i === 0 ? task.answers.positive : task.answers.negative,
    })),
    truncated: scored.truncated,
    thinking: rowIn(sameModel("thinking")).map((r) => ({
      p: r.score,
      trace: (r.extra?.trace as string | undefined) ?? "",
      verdicts: (r.extra?.verdicts as (boolean | null)[] | undefined) ?? [],
    })),
    summaries: rowIn(sameModel("summary")).map((r) => ({
      summary: (r.extra?.summary as string | undefined) ?? "",
      kept: r.score < 0 ? null : r.score === 1,
    })),
  };
}

export function compare(run: RunEntry, params: URLSearchParams) {
  const q = parseQuery(CompareQuery, params);
  const [a, b] = [cellOf(run, q.a), cellOf(run, q.b)];
  if (a.task !== b.task || a.split !== b.split)
    throw new BadRequest(`evaluations ${q.a} and ${q.b} are not on the same examples (task and split must match)`);
  const pb = new Map(run.ctx.store.predictions(b.key).map((r) => [r.example, r.score]));
  const rows = run.ctx.store
    .predictions(a.key)
    .filter((r) => pb.has(r.example))
    .map((r) => {
      const p2 = pb.get(r.example)!;
      return {
        id: r.example,
        label: r.label,
        pa: r.score,
        pb: p2,
        disagree: r.score >= q.threshold !== p2 >= q.threshold,
      };
    })
    .sort((x, y) => Number(y.disagree) - Number(x.disagree) || Math.abs(y.pa - y.pb) - Math.abs(x.pa - x.pb));
  return {
    a: { ...a, model: modelLabel(run.ctx, a.model) },
    b: { ...b, model: modelLabel(run.ctx, b.model) },
    disagreements: rows.filter((r) => r.disagree).length,
    total: rows.length,
    rows: rows.slice(0, q.limit),
  };
}

/** Where an imported example came from (an Inspect log's sample and epoch), or null for the built-in world's. */
function provenanceOf(e: Example): Record<string, string | number | null> | null {
  const m = (e.meta ?? {}) as Record<string, unknown>;
  if (m.log === undefined && m.sample_id === undefined && e.group === undefined) return null;
  const text = (v: unknown) => (v === undefined || v === null ? null : String(v));
  return {
    log: text(m.log),
    sample_id: text(m.sample_id),
    epoch: typeof m.epoch === "number" ? m.epoch : null,
    inspect_task: text(m.inspect_task),
    model: text(m.model),
    group: e.group ?? null,
  };
}
