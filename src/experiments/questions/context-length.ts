/**
 * Context length: does a monitor still see the incriminating text when it is a small part of a long transcript? The
 * task's test texts are padded with the task's own benign texts (or a named task's) up to each length, the original
 * at the start, middle or end (`pad`, src/data/transforms/), and every compared model scores them: AUROC, TPR at 1%
 * and 5% FPR with the threshold fixed on clean validation data, and the fall from the clean text as a paired
 * difference over the same examples.
 */
import { z } from "zod";
import { InputError } from "../../core/errors.js";
import { derivedTaskId, type DerivedTaskSpec } from "../../data/transforms/derived.js";
import { POSITIONS, type PadTransform, type Position } from "../../data/transforms/transform.js";
import type { Interval } from "../../eval/metrics.js";
import { barsWithCI, ci, lineWithBand } from "../../report/charts.js";
import { fmtCI } from "../../report/format.js";
import { evalOf, type Section } from "../../report/section.js";
import type { Analysis } from "../analysis.js";
import { UNTRAINED } from "../models.js";
import { MEASURE_HEAD, measureCells, measuresOn, type RobustnessMeasures } from "./robustness-measures.js";
import { defineQuestion } from "./question.js";
import { comparedModels, planModels, RobustnessModels, type Compared } from "./robustness-models.js";
import { Replicates } from "./schema.js";

/** Tokens kept for the prompt's own text and chat markup besides the padded text. */
export const PROMPT_ROOM = 256;
const FIELD = "experiments.context_length";

export const ContextLengthSchema = z
  .object({
    task: z.string().min(1),
    /** the padded text's length in tokens; 0 is the clean text */
    lengths: z.array(z.number().int().min(0).max(1_000_000)).min(1),
    /** where the original text sits among the padding */
    positions: z.array(z.enum(POSITIONS)).min(1).default(["middle"]),
    /** the task whose negatives pad (default: the task's own) */
    pad_from: z.string().min(1).optional(),
    /** a prompt past the model's context or its budget: an error (default), or the text's middle cut, stated */
    truncate: z.enum(["error", "middle"]).default("error"),
    models: RobustnessModels.default({ untrained: true, in_domain: true, sources: {} }),
    replicates: Replicates.optional(),
  })
  .strict();
type ContextPart = z.infer<typeof ContextLengthSchema>;
type ContextResult = ReturnType<typeof analyse>;

function padOf(c: ContextPart, length: number, position: Position): PadTransform {
  return { kind: "pad", tokens: length, position, ...(c.pad_from ? { from: c.pad_from } : {}) };
}

/** The padded lengths (0 left out), in order. */
const padded = (c: ContextPart) => [...new Set(c.lengths)].filter((l) => l > 0).sort((x, y) => x - y);

/**
 * The task a length and position evaluate. At 0 it is the clean text, as a task of its own ("pad-0") so that it is
 * rendered with the same long budget as the padded ones (the training's shorter max_tokens would cut it).
 */
function taskAt(c: ContextPart, length: number, position: Position): string {
  return derivedTaskId(c.task, padOf(c, length, position));
}

/** Every task the question scores: the clean one (length 0), then each length and position. */
function transforms(c: ContextPart): PadTransform[] {
  return [padOf(c, 0, "middle"), ...padded(c).flatMap((l) => c.positions.map((p) => padOf(c, l, p)))];
}

export interface LengthPoint extends RobustnessMeasures {
  model: string;
  /** the model's label in the plan ("untrained" for the base) and the task scored, for a chart row's evaluation */
  label: string;
  eval_task: string;
  length: number;
  /** where the original sits (null for the clean text) */
  position: Position | null;
}

function analyse(a: Analysis, c: ContextPart) {
  const compared = comparedModels(c.models, c.task);
  const points: LengthPoint[] = [];
  let thresholdsFrom: "validation" | "test" = "validation";
  for (const m of compared) {
    const cleanTask = taskAt(c, 0, "middle");
    const at: [number, Position | null][] = [
      [0, null],
      ...padded(c).flatMap((l) => c.positions.map((p): [number, Position] => [l, p])),
    ];
    for (const [length, position] of at) {
      const task = taskAt(c, length, position ?? "middle");
      const { from, ...measures } = measuresOn(a, m.label, cleanTask, task);
      if (from === "test") thresholdsFrom = "test";
      points.push({ model: m.name, label: m.label ?? UNTRAINED, eval_task: task, length, position, ...measures });
    }
  }
  const longest = Math.max(0, ...padded(c));
  return {
    task: c.task,
    lengths: [0, ...padded(c)],
    positions: c.positions,
    longest,
    points,
    thresholds_from: thresholdsFrom,
  };
}

function finding(r: ContextResult): string {
  if (r.longest === 0) return `On ${r.task}, only the clean text was scored (no length above 0).`;
  const position = r.positions.includes("middle") ? "middle" : r.positions[0];
  const at = r.points.filter((p) => p.length === r.longest && p.position === position && p.fall);
  const falls = at.map((p) => `${p.model} ${fmtCI(p.fall as Interval)}`).join(", ");
  const worst = [...at].sort((x, y) => (x.fall as Interval).value - (y.fall as Interval).value)[0];
  const clear = at.filter((p) => (p.fall as Interval).hi < 0).length;
  const sources = r.points.filter((p) => p.length === 0 && p.label.startsWith("source:"));
  const best = [...sources].sort((x, y) => y.auroc.value - x.auroc.value)[0];
  return (
    `On ${r.task}, with the text padded to ${r.longest} tokens (the original in the ${position}), AUROC changes by ` +
    `${falls} against the clean text; it falls clearly (interval below zero) for ${clear} of ${at.length} models` +
    (worst ? `, most for ${worst.model}.` : ".") +
    (best && sources.length > 1
      ? ` The best source on the clean text is ${best.model} (AUROC ${fmtCI(best.auroc)}).`
      : "")
  );
}

function section(r: ContextResult & { finding: string }, a: Analysis): Section {
  const charts = r.positions.map((position) => ({
    id: `context-length-${position}`,
    spec: lineWithBand(
      r.points
        .filter((p) => p.position === position || p.position === null)
        .map((p) => ({ model: p.model, length: p.length, ...ci(p.auroc) })),
      "length",
      `AUROC against length (original text in the ${position})`,
      "tokens of padded text (0: clean)",
      "AUROC",
      { color: "model" },
    ),
  }));
  const falls = r.points.filter((p) => p.fall && p.length === r.longest);
  if (falls.length)
    charts.push({
      id: "context-length-fall",
      spec: barsWithCI(
        falls.map((p) => ({
          model: p.model,
          position: p.position,
          ...ci(p.fall as Interval),
          eval: evalOf(a, p.label, p.eval_task),
        })),
        "position",
        `Change in AUROC at ${r.longest} tokens against the clean text`,
        "AUROC change",
        { color: "model", rule: 0 },
      ),
    });
  return {
    id: "context_length",
    title: "Context length",
    question: "Does the monitor still catch the incriminating text when it is a small part of a long transcript?",
    finding: r.finding,
    charts,
    tables: [
      {
        head: ["model", "length", "position", ...MEASURE_HEAD],
        rows: r.points.map((p) => [p.model, p.length, p.position ?? "–", ...measureCells(p)]),
      },
    ],
    note:
      `Padding: the task's own negative texts (or pad_from's), whole while they fit, the last one cut, up to the ` +
      `length in the model's tokens; the same texts for every model. TPR at a fixed FPR uses each replicate's ` +
      `threshold from clean data, and "FPR there" is the share of padded negatives above it: padding can move every ` +
      `score, so a higher TPR at the clean threshold may come with a higher FPR. The threshold comes from the clean ` +
      `${r.thresholds_from === "validation" ? "validation" : "test (no validation split)"} negatives, as a deployed ` +
      "monitor would set it.",
  };
}

export const contextLength = defineQuestion({
  id: "context_length",
  name: "context length",
  derived(c: ContextPart): DerivedTaskSpec[] {
    return transforms(c).map((transform) => ({ task: c.task, transform, field: FIELD }));
  },
  plan(b, c: ContextPart) {
    const context = b.modelContext;
    const list: Compared[] = planModels(b, c.models, c.task, b.replicatesOf(c));
    for (const length of padded(c)) {
      if (context !== undefined && c.truncate === "error" && length + PROMPT_ROOM > context)
        throw new InputError(
          `${FIELD}.lengths: ${length} tokens and the prompt (${PROMPT_ROOM} kept for it) pass the model's context ` +
            `of ${context} positions; use lengths up to ${context - PROMPT_ROOM}, or truncate: middle`,
        );
    }
    // one budget for every cell, the model's context where known: a text is cut (or refused) only where it must be
    const budget = { maxTokens: context ?? Math.max(...c.lengths) + PROMPT_ROOM, truncation: c.truncate };
    const clean = taskAt(c, 0, "middle");
    for (const m of list)
      for (const k of m.label === null ? [null] : b.keysFor(m.label)) {
        for (const t of transforms(c)) b.evaluate(k, derivedTaskId(c.task, t), "single", "test", undefined, budget);
        // the clean validation texts: where a deployed monitor's threshold comes from
        if (b.spec.eval.validation > 0 && !b.evalOnly.has(c.task))
          b.evaluate(k, clean, "single", "validation", undefined, budget);
      }
  },
  analyse,
  finding,
  section,
});
