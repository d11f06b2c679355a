/**
 * Transforms of a task's texts, for measuring how monitors fail: `pad` buries the text among benign texts of the
 * same task up to a token budget (the original at the start, middle or end); `inject` adds an attack of a family
 * (./attacks.ts) to positives, or to every text. Deterministic: an example's result depends only on the run's seed,
 * the transform and the example. Each transformed example records in its meta what was done and where the inserted
 * parts lie (character spans of the new text), which the viewer marks.
 *
 * A transformed example is a text example: a conversation is transformed in its text form, which is how every format
 * renders it anyway (exampleText).
 */
import { z } from "zod";
import { InputError } from "../../core/errors.js";
import { deriveSeed, Rng } from "../../core/random.js";
import { exampleText, type Example, type Task } from "../task.js";
import { ATTACK_FAMILIES, ATTACK_FAMILY_NAMES, isAttackFamily, type AttackFamilyName } from "./attacks.js";

export const POSITIONS = ["start", "middle", "end"] as const;
export type Position = (typeof POSITIONS)[number];

export const AttackFamilyField = z.string().refine(isAttackFamily, {
  error: (i) => `unknown attack family "${String(i.input)}" (known: ${ATTACK_FAMILY_NAMES.join(", ")})`,
});

export const PadTransform = z
  .object({
    kind: z.literal("pad"),
    /** the transformed text's length in tokens, at most (0: the text as it is) */
    tokens: z.number().int().min(0).max(1_000_000),
    /** where the original text sits among the padding */
    position: z.enum(POSITIONS),
    /** the task whose negatives pad (default: the task's own) */
    from: z.string().min(1).optional(),
  })
  .strict();

export const InjectTransform = z
  .object({
    kind: z.literal("inject"),
    family: AttackFamilyField,
    position: z.enum(POSITIONS).default("start"),
    /** which texts are attacked: an agent attacks its monitor where it has something to hide */
    targets: z.enum(["positives", "all"]).default("positives"),
  })
  .strict();

export const Transform = z.discriminatedUnion("kind", [PadTransform, InjectTransform]);
export type PadTransform = z.infer<typeof PadTransform>;
export type InjectTransform = z.infer<typeof InjectTransform>;
export type Transform = z.infer<typeof Transform>;

/** A transform's name in cell keys, results and the viewer: pad-4096-middle, inject-fake_verdict-start-positives. */
export function transformId(t: Transform): string {
  if (t.kind === "pad")
    return t.tokens === 0 ? "pad-0" : `pad-${t.tokens}-${t.position}${t.from ? `-from-${t.from}` : ""}`;
  return `inject-${t.family}-${t.position}-${t.targets}`;
}

/** What a transformed example's meta.transform holds. */
export interface TransformRecord {
  id: string;
  /** character spans of the new text that were inserted (padding, an attack string) */
  inserted: { start: number; end: number }[];
  /** the text's length in tokens after the transform (pad) */
  tokens?: number;
  /** characters a rewrite changed (homoglyphs, zero-width characters) */
  changed?: number;
  /** an inserted attack's text */
  attack?: string;
}

/** What a transform reads besides the examples: the run's tasks, a token counter, the seed. */
export interface TransformInputs {
  /** every example of a task, by task id (all splits) */
  examplesOf(task: string): { task: Task; examples: Example[] } | undefined;
  countTokens(text: string): number;
  seed: number;
}

/** The examples as transformed (ids, labels and order kept); `field` names the spec field in errors. */
export function applyTransform(
  t: Transform,
  task: Task,
  examples: Example[],
  inputs: TransformInputs,
  field: string,
): Example[] {
  const id = transformId(t);
  const rngOf = (e: Example) => new Rng(deriveSeed(inputs.seed, `transform.${id}.${task.id}.${e.id}`));
  if (t.kind === "pad") {
    const from = t.from ?? task.id;
    const source = inputs.examplesOf(from);
    if (!source) throw new InputError(`${field}.from: unknown task "${from}"`);
    const negatives = source.examples.filter((e) => !e.label);
    if (negatives.length < 2)
      throw new InputError(
        `${field}: task "${from}" has ${negatives.length} negative texts; padding needs at least 2 ` +
          "(name another task in from:)",
      );
    const counts = new Map<string, number>();
    const tokensOf = (e: Example) => {
      let n = counts.get(e.id);
      if (n === undefined) {
        n = inputs.countTokens(exampleText(e));
        counts.set(e.id, n);
      }
      return n;
    };
    return examples.map((e) => pad(e, t, negatives, tokensOf, inputs.countTokens, rngOf(e), id));
  }
  const family = ATTACK_FAMILIES[t.family as AttackFamilyName];
  return examples.map((e) => {
    if (t.targets === "positives" && !e.label) return e;
    const rng = rngOf(e);
    const text = exampleText(e);
    if (family.kind === "rewrite") {
      const r = family.rewrite(text, () => rng.next());
      return withText(e, r.text, { id, inserted: [], changed: r.changed });
    }
    const attack = family.variants[Math.floor(rng.next() * family.variants.length)];
    const at = t.position === "start" ? 0 : t.position === "end" ? text.length : lineBreakNear(text, text.length / 2);
    const before = text.slice(0, at);
    const after = text.slice(at);
    const lead = before && !before.endsWith("\n") ? "\n" : "";
    const tail = after && !after.startsWith("\n") ? "\n" : "";
    const start = before.length + lead.length;
    const next = `${before}${lead}${attack}${tail}${after}`;
    return withText(e, next, { id, inserted: [{ start, end: start + attack.length }], attack });
  });
}

function withText(e: Example, text: string, record: TransformRecord): Example {
  const { messages: _, ...rest } = e;
  return { ...rest, text, meta: { ...e.meta, transform: record } };
}

/** The index of the line break closest to `near` (just after it), or `near` itself in a text of one line. */
function lineBreakNear(text: string, near: number): number {
  let best = -1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1))
    if (best < 0 || Math.abs(i + 1 - near) < Math.abs(best - near)) best = i + 1;
  if (best >= 0) return best;
  const space = text.indexOf(" ", Math.floor(near));
  return space >= 0 ? space + 1 : Math.floor(near);
}

const SEPARATOR = "\n\n";

/**
 * The example among benign texts drawn from `negatives` (never itself), up to `t.tokens` tokens in all: whole texts
 * while they fit, then the next one cut to the room left. The count is checked on the joined text, and the last
 * padding text shortened until it fits.
 */
function pad(
  e: Example,
  t: PadTransform,
  negatives: Example[],
  tokensOf: (e: Example) => number,
  countTokens: (text: string) => number,
  rng: Rng,
  id: string,
): Example {
  const text = exampleText(e);
  const own = countTokens(text);
  const pool = negatives.filter((n) => n.id !== e.id);
  const segments: string[] = [];
  let room = t.tokens - own;
  for (let guard = 0; room > 8 && guard < 100_000; guard++) {
    const next = pool[Math.floor(rng.next() * pool.length)];
    const n = tokensOf(next) + 2; // the separator
    const body = exampleText(next);
    if (n <= room) {
      segments.push(body);
      room -= n;
    } else {
      segments.push(body.slice(0, Math.floor((body.length * room) / n)));
      room = 0;
    }
  }
  const before = t.position === "start" ? 0 : t.position === "end" ? segments.length : Math.floor(segments.length / 2);
  const build = () => {
    const parts = [
      ...segments.slice(0, before).map((p) => ({ p, inserted: true })),
      { p: text, inserted: false },
      ...segments.slice(before).map((p) => ({ p, inserted: true })),
    ].filter((x) => x.p.length > 0);
    const inserted: { start: number; end: number }[] = [];
    let joined = "";
    for (const x of parts) {
      if (joined) joined += SEPARATOR;
      if (x.inserted) inserted.push({ start: joined.length, end: joined.length + x.p.length });
      joined += x.p;
    }
    return { joined, inserted };
  };
  let r = build();
  let tokens = countTokens(r.joined);
  // joins can merge or split tokens at the boundaries: shorten the last padding text until the whole fits
  for (let tries = 0; tokens > t.tokens && segments.length && tries < 50; tries++) {
    const last = before < segments.length ? segments.length - 1 : 0;
    const cut = Math.max(16, (tokens - t.tokens) * 6);
    segments[last] = segments[last].slice(0, Math.max(0, segments[last].length - cut));
    if (!segments[last]) segments.splice(last, 1);
    r = build();
    tokens = countTokens(r.joined);
  }
  return withText(e, r.joined, { id, inserted: r.inserted, tokens });
}
