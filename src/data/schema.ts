/** What task files and manifests may contain (zod), and how one row becomes an Example. */
import { z } from "zod";
import { ANSWER_LINE_MODES, DEFAULT_ANSWERS, DEFAULT_LABELS, TEXT_SLOT, type ChatTurn, type Example } from "./task.js";
import type { ProblemList } from "./problems.js";

export const TaskHeader = z.object({
  id: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9_.:-]+$/, "use letters, digits, _ . : -"),
  domain: z.string().min(1),
  prompt: z
    .string()
    .min(1)
    .refine((p) => p.includes(TEXT_SLOT), `the prompt must mark the text's place with ${TEXT_SLOT}`),
  labels: z
    .object({ positive: z.string().min(1), negative: z.string().min(1) })
    .strict()
    .default({ ...DEFAULT_LABELS }),
  answers: z
    .object({ positive: z.string().min(1), negative: z.string().min(1) })
    .strict()
    .default({ ...DEFAULT_ANSWERS }),
  /** whether single-token scoring appends "Answer with Yes or No." (auto: unless the prompt asks already) */
  answer_line: z.enum(ANSWER_LINE_MODES).optional(),
  /** this task's split fractions (default 0.7 / 0.1 / 0.2); the tasks of one domain must agree, sharing its texts */
  split: z
    .object({ train: z.number().min(0).max(1), validation: z.number().min(0).max(1), test: z.number().min(0).max(1) })
    .strict()
    .refine((f) => Math.abs(f.train + f.validation + f.test - 1) < 1e-9, "the fractions must add up to 1")
    .refine((f) => f.test > 0, "test must be more than 0")
    .optional(),
  /** every example is a test example: the task is evaluated on all its data and never trained on */
  eval_only: z.boolean().optional(),
});
export type TaskHeader = z.infer<typeof TaskHeader>;

const LabelValue = z.union([z.string(), z.number(), z.boolean()]);

/**
 * How a manifest maps another layout's columns (a Hugging Face dataset's, say) onto crossmon's: which column holds the
 * text, the label and the id; `positive` makes the label one-vs-rest (that value positive, any other negative, unless
 * `negative` names the one negative value); `splits` keeps the files of those splits of a folder.
 */
export const ColumnMap = z.object({
  text_column: z.string().min(1).optional(),
  label_column: z.string().min(1).optional(),
  id_column: z.string().min(1).optional(),
  /** the column whose value groups rows that must share a split (a sample's epochs, one conversation's turns) */
  group_column: z.string().min(1).optional(),
  positive: LabelValue.optional(),
  negative: LabelValue.optional(),
  splits: z.array(z.string().min(1)).min(1).optional(),
  /** the rows carry no label: their texts become the task's pool for unsupervised elicitation */
  unlabelled: z.boolean().optional(),
});
export type ColumnMap = z.infer<typeof ColumnMap>;

export const Manifest = z
  .object({
    tasks: z
      .array(
        TaskHeader.extend({
          /** data file or folder, relative to the manifest, or an hf://datasets/ORG/NAME[@REV][/CONFIG] name */
          file: z.string().min(1),
          ...ColumnMap.shape,
        })
          .strict()
          .refine((t) => t.negative === undefined || t.positive !== undefined, {
            message: "negative needs positive",
            path: ["negative"],
          }),
      )
      .min(1),
  })
  .strict();

const Turn = z.object({ role: z.string().min(1), content: z.string() });

/** Parses the label of a row against a task's label names (also true/false, 1/0, "1"/"0", "true"/"false"). */
export function parseLabel(v: unknown, labels: { positive: string; negative: string }): boolean | undefined {
  if (v === true || v === 1 || v === "1" || v === "true" || v === "True") return true;
  if (v === false || v === 0 || v === "0" || v === "false" || v === "False") return false;
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (s === labels.positive.toLowerCase()) return true;
    if (s === labels.negative.toLowerCase()) return false;
  }
  return undefined;
}

/** Turns one row into an Example, adding a problem for each bad field (and returning null if unusable). */
export function rowToExample(
  row: Record<string, unknown>,
  labels: { positive: string; negative: string },
  where: { file: string; line: number; unit: "line" | "row" },
  problems: ProblemList,
  fallbackId: string,
  o: { unlabelled?: boolean } = {},
): Example | null {
  const bad = (field: string, message: string) => problems.add({ ...where, field, message });
  let ok = true;
  const id = row.id === undefined || row.id === null || row.id === "" ? fallbackId : String(row.id);
  let text: string | undefined;
  let messages: ChatTurn[] | undefined;
  if (row.messages !== undefined && row.messages !== null && row.messages !== "") {
    let m = row.messages;
    if (typeof m === "string") {
      try {
        m = JSON.parse(m);
      } catch {
        bad("messages", "not valid JSON");
        ok = false;
      }
    }
    const parsed = z.array(Turn).min(1).safeParse(m);
    if (ok && !parsed.success) {
      bad("messages", "must be a non-empty list of {role, content}");
      ok = false;
    } else if (ok && parsed.success) {
      messages = parsed.data;
      if (messages.every((t) => t.content.trim() === "")) {
        bad("messages", "every message is empty");
        ok = false;
      }
    }
  } else if (row.text === undefined || row.text === null) {
    bad("text", 'missing (each example needs "text" or "messages")');
    ok = false;
  } else if (typeof row.text !== "string") {
    bad("text", `must be a string, got ${typeof row.text}`);
    ok = false;
  } else if (row.text.trim() === "") {
    bad("text", "empty");
    ok = false;
  } else text = row.text;
  let label: boolean | undefined;
  if (o.unlabelled)
    label = false; // the caller keeps only what is not the label (see UnlabelledExample)
  else if (row.label === undefined || row.label === null || row.label === "") {
    bad("label", "missing");
    ok = false;
  } else {
    label = parseLabel(row.label, labels);
    if (label === undefined) {
      bad(
        "label",
        `unknown label ${JSON.stringify(row.label)} (expected ${labels.positive}/${labels.negative}, true/false or ` +
          `1/0)`,
      );
      ok = false;
    }
  }
  const obj = (field: string) => {
    let v = row[field];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v === "string") {
      try {
        v = JSON.parse(v);
      } catch {
        bad(field, "not valid JSON");
        ok = false;
        return undefined;
      }
    }
    if (typeof v !== "object" || Array.isArray(v)) {
      bad(field, "must be an object");
      ok = false;
      return undefined;
    }
    return v as Record<string, unknown>;
  };
  const meta = obj("meta");
  const facts = obj("facts");
  let group: string | undefined;
  if (row.group !== undefined && row.group !== null && row.group !== "") {
    if (typeof row.group === "string" || typeof row.group === "number" || typeof row.group === "bigint")
      group = String(row.group);
    else {
      bad("group", "must be a string or a number");
      ok = false;
    }
  }
  if (!ok) return null;
  return {
    id,
    ...(text !== undefined ? { text } : { messages }),
    label: label!,
    ...(group !== undefined ? { group } : {}),
    ...(meta ? { meta } : {}),
    ...(facts ? { facts } : {}),
  };
}
