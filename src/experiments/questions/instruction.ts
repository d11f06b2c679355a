/**
 * Question 4, instruction-following training: none / after classification training / mixed into it at several
 * ratios (by examples or loss tokens) / IF alone, on the transfer tasks and on the prompt-change question.
 */
import { z } from "zod";
import type { Interval } from "../../eval/metrics.js";
import { fmtCI, f2 } from "../../report/format.js";
import { evalOf, type Section } from "../../report/section.js";
import type { Analysis } from "../analysis.js";
import { models } from "../models.js";
import { defineQuestion } from "./question.js";
import { barsWithCI, ci } from "../../report/charts.js";
import type { ExperimentSpec } from "../spec.js";
import { instructionVariants, UNTRAINED } from "../models.js";
import { Replicates, Share, TaskList } from "./schema.js";

export const InstructionSchema = z
  .object({
    replicates: Replicates.optional(),
    source: TaskList,
    after_examples: z.number().int().positive(),
    mixed: z.array(Share).min(1),
    eval_tasks: TaskList,
  })
  .strict();
type InstructionPart = z.infer<typeof InstructionSchema>;
type InstructionResult = ReturnType<typeof analyse>;

function analyse(
  a: Analysis,
  i: InstructionPart,
  spec: ExperimentSpec,
): {
  /** variant: as shown; label: the model's label in the plan (what a chart row's evaluation is found by) */
  rows: { variant: string; label: string; auroc: Record<string, Interval> }[];
  tasks: string[];
  after_vs_none: Record<string, Interval>;
} {
  const tasks = [
    ...i.eval_tasks,
    ...(spec.experiments.prompt_change ? [spec.experiments.prompt_change.eval_task] : []),
  ];
  const variants = instructionVariants(i.mixed);
  const rows = variants.map((v) => ({
    variant: v.replace(/^if:/, ""),
    label: v,
    auroc: Object.fromEntries(tasks.map((t) => [t, a.aurocOf(v === UNTRAINED ? null : v, t)])),
  }));
  // what adding IF after classification training changes, paired over the same examples
  const after_vs_none = Object.fromEntries(tasks.map((t) => [t, a.diff(models.ifNone, models.ifAfter, t)]));
  return { rows, tasks, after_vs_none };
}

function finding(i: InstructionResult): string {
  const none = i.rows.find((r) => r.variant === "none");
  const after = i.rows.find((r) => r.variant === "after");
  if (!none || !after) throw new Error("the instruction finding needs the if:none and if:after variants");
  const parts = i.tasks.map(
    (t) =>
      `${t}: ${fmtCI(none.auroc[t])} without IF, ${fmtCI(after.auroc[t])} with IF after (difference ` +
      `${fmtCI(i.after_vs_none[t])})`,
  );
  const mixed = i.rows
    .filter((r) => r.variant.startsWith("mixed"))
    .map((r) => `${r.variant}: ${i.tasks.map((t) => f2(r.auroc[t].value)).join(" / ")}`)
    .join("; ");
  return (
    `Classification training, then IF training, gives ${parts.join("; ")}. Mixed instead (AUROC on ` +
    `${i.tasks.join(" / ")}): ${mixed}.`
  );
}

function section(i: InstructionResult & { finding: string }, a: Analysis): Section {
  return {
    id: "instruction",
    title: "Instruction-following training",
    question:
      "Does IF training (after classification training, or mixed into it) keep the transfer gain and fix the " +
      "prompt-change failure?",
    finding: i.finding,
    charts: [
      {
        id: "instruction-bars",
        spec: barsWithCI(
          i.rows.flatMap((x) =>
            i.tasks.map((t) => ({ variant: x.variant, task: t, ...ci(x.auroc[t]), eval: evalOf(a, x.label, t) })),
          ),
          "variant",
          "AUROC by instruction-following recipe",
          "AUROC",
          { color: "task", domain: [0, 1], rule: 0.5 },
        ),
      },
    ],
    tables: [
      { head: ["recipe", ...i.tasks], rows: i.rows.map((x) => [x.variant, ...i.tasks.map((t) => fmtCI(x.auroc[t]))]) },
    ],
  };
}

export const instruction = defineQuestion({
  id: "instruction",
  name: "instruction",
  plan(b, i: InstructionPart, spec) {
    const evalOn = [
      ...i.eval_tasks,
      ...(spec.experiments.prompt_change ? [spec.experiments.prompt_change.eval_task] : []),
    ];
    const base = [b.stage("classification", { classification: b.cls(i.source) })];
    const after = b.stage("instruction", { instruction: { examples: i.after_examples } });
    const variants: [string, ReturnType<typeof b.stage>[]][] = [
      [models.ifNone, base],
      [models.ifAfter, [...base, after]],
      ...i.mixed.map((m): [string, ReturnType<typeof b.stage>[]] => [
        models.ifMixed(m),
        [b.stage("mixed", { classification: b.cls(i.source), instruction: m })],
      ]),
      [models.ifOnly, [after]],
    ];
    for (const t of evalOn) b.single(null, t);
    for (const [label, stages] of variants) {
      const m = b.train(label, stages, b.replicatesOf(i));
      for (const t of evalOn) b.single(m, t);
    }
  },
  analyse,
  finding,
  section,
});
