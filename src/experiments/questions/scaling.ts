/** Question 2, scaling adjacent data: a fixed amount of in-domain data plus growing adjacent-domain data. */
import { z } from "zod";
import type { Interval } from "../../eval/metrics.js";
import { fmtCI } from "../../report/format.js";
import { evalOf, type Section } from "../../report/section.js";
import type { Analysis } from "../analysis.js";
import { models } from "../models.js";
import { defineQuestion } from "./question.js";
import { ci, lineWithBand } from "../../report/charts.js";
import { Replicates } from "./schema.js";

export const ScalingSchema = z
  .object({
    replicates: Replicates.optional(),
    target: z.string(),
    in_domain: z.number().int().positive(),
    adjacent_task: z.string(),
    adjacent: z.array(z.number().int().nonnegative()).min(2),
  })
  .strict();
type ScalingPart = z.infer<typeof ScalingSchema>;

export interface ScalingResult {
  target: string;
  adjacent_task: string;
  in_domain: number;
  untrained: Interval;
  points: { adjacent: number; auroc: Interval }[];
  gain: Interval;
}

function analyse(a: Analysis, s: ScalingPart): ScalingResult {
  const first = models.scaling(s.adjacent[0]),
    last = models.scaling(s.adjacent[s.adjacent.length - 1]);
  const gain = a.diff(first, last, s.target);
  const points = s.adjacent.map((n) => ({ adjacent: n, auroc: a.aurocOf(models.scaling(n), s.target) }));
  return {
    target: s.target,
    adjacent_task: s.adjacent_task,
    in_domain: s.in_domain,
    untrained: a.aurocOf(null, s.target),
    points,
    gain,
  };
}

function finding(s: ScalingResult): string {
  const first = s.points[0];
  const last = s.points[s.points.length - 1];
  return (
    `With ${s.in_domain} in-domain ${s.target} examples, adding ${s.adjacent_task} examples moves ` +
    `AUROC from ${fmtCI(first.auroc)} (${first.adjacent} added) to ${fmtCI(last.auroc)} ` +
    `(${last.adjacent} added): a paired difference of ${fmtCI(s.gain)}` +
    (s.gain.lo > 0
      ? ", so the adjacent data helps here."
      : s.gain.hi < 0
        ? ", so the adjacent data hurts here."
        : ", an interval that includes zero.")
  );
}

function section(s: ScalingResult & { finding: string }, a: Analysis): Section {
  return {
    id: "scaling",
    title: "Scaling adjacent data",
    question: "With a fixed amount of in-domain data, does adding more adjacent-domain data help?",
    finding: s.finding,
    charts: [
      {
        id: "scaling-curve",
        spec: lineWithBand(
          s.points.map((p) => ({
            adjacent: p.adjacent,
            ...ci(p.auroc),
            eval: evalOf(a, models.scaling(p.adjacent), s.target),
          })),
          "adjacent",
          `AUROC on ${s.target} with ${s.in_domain} in-domain examples`,
          `${s.adjacent_task} examples added`,
          "AUROC",
        ),
      },
    ],
    tables: [
      { head: ["adjacent examples", "AUROC [95% CI]"], rows: s.points.map((p) => [p.adjacent, fmtCI(p.auroc)]) },
    ],
  };
}

export const scaling = defineQuestion({
  id: "scaling",
  name: "scaling",
  plan(b, s: ScalingPart) {
    b.single(null, s.target);
    for (const a of s.adjacent) {
      const parts = [
        { task: s.target, examples: s.in_domain },
        ...(a > 0 ? [{ task: s.adjacent_task, examples: a }] : []),
      ];
      b.single(
        b.train(models.scaling(a), [b.stage("classification", { classification: parts })], b.replicatesOf(s)),
        s.target,
      );
    }
  },
  analyse,
  finding,
  section,
});
