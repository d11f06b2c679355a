/** Question 5, format transfer: 1-token classification training, evaluated with thinking and with summaries. */
import { z } from "zod";
import type { Interval } from "../../eval/metrics.js";
import { fmtCI } from "../../report/format.js";
import { evalOf, type Section } from "../../report/section.js";
import type { Analysis } from "../analysis.js";
import { models } from "../models.js";
import { defineQuestion } from "./question.js";
import { aurocOver, proportionOver } from "../../eval/replicated.js";
import { JUDGE_PROMPT } from "../../eval/evaluate.js";
import { barsWithCI, ci } from "../../report/charts.js";
import { UNTRAINED } from "../models.js";
import { Replicates, TaskList } from "./schema.js";

export const FormatTransferSchema = z
  .object({ source: TaskList, eval_tasks: TaskList, replicates: Replicates.optional() })
  .strict();
type FormatPart = z.infer<typeof FormatTransferSchema>;
type FormatResult = ReturnType<typeof analyse>;

function analyse(
  a: Analysis,
  f: FormatPart,
): {
  rows: {
    task: string;
    model: string;
    single: Interval;
    thinking: Interval;
    unparseable: number;
    summary_recall: Interval | null;
  }[];
  tasks: string[];
} {
  const rows = f.eval_tasks.flatMap((t) =>
    (
      [
        ["untrained", null],
        ["1-token trained", models.formatTrained],
      ] as [string, string | null][]
    ).map(([name, m]) => {
      const th = a.reps(m, t, "thinking");
      // a summary judged keeps the evidence (1) or not (0); -1: the positive was not judged
      const sm = a.keysOf(m).map((k) => a.need(k, t, "summary"));
      const judged = sm[0].scores.map((_, i) => i).filter((i) => sm.every((p) => p.scores[i] >= 0));
      const recall = judged.length
        ? proportionOver(
            sm.map((p) => judged.filter((i) => p.scores[i] === 1).length),
            judged.length,
          )
        : null;
      const unparseable = a
        .keysOf(m)
        .map((k) => a.need(k, t, "thinking").extra as { verdicts: (boolean | null)[] }[])
        .reduce((s, ex) => s + ex.reduce((x, e) => x + e.verdicts.filter((v) => v === null).length, 0), 0);
      return {
        task: t,
        model: name,
        single: a.aurocOf(m, t),
        thinking: aurocOver(th.labels, th.reps, a.boot),
        unparseable,
        summary_recall: recall,
      };
    }),
  );
  return { tasks: f.eval_tasks, rows };
}

function finding(f: FormatResult): string {
  return f.tasks
    .map((t) => {
      const [u, tr] = f.rows.filter((r) => r.task === t);
      return (
        `On ${t}, thinking classification goes from AUROC ${fmtCI(u.thinking)} untrained to ` +
        `${fmtCI(tr.thinking)} after 1-token training (${u.unparseable} and ${tr.unparseable} traces without a ` +
        `verdict line), and summaries keep the incriminating evidence in ` +
        `${u.summary_recall ? fmtCI(u.summary_recall, true) : "n/a"} of positives untrained against ` +
        `${tr.summary_recall ? fmtCI(tr.summary_recall, true) : "n/a"} trained.`
      );
    })
    .join(" ");
}

function section(f: FormatResult & { finding: string }, a: Analysis): Section {
  const label = (m: string) => (m === UNTRAINED ? UNTRAINED : models.formatTrained);
  const summaries = f.rows.filter((x) => x.summary_recall);
  return {
    id: "format_transfer",
    title: "Format transfer",
    question: "Does 1-token classification training also help when the monitor reasons first, or writes a summary?",
    finding: f.finding,
    charts: [
      {
        id: "format-thinking",
        spec: barsWithCI(
          f.rows.map((x) => ({
            task: x.task,
            model: x.model,
            ...ci(x.thinking),
            eval: evalOf(a, label(x.model), x.task, "thinking"),
          })),
          "task",
          "AUROC when the monitor reasons first",
          "AUROC (thinking)",
          { color: "model", domain: [0, 1], rule: 0.5 },
        ),
      },
      ...(summaries.length
        ? [
            {
              id: "format-summary",
              spec: barsWithCI(
                summaries.map((x) => ({
                  task: x.task,
                  model: x.model,
                  ...ci(x.summary_recall!),
                  eval: evalOf(a, label(x.model), x.task, "summary"),
                })),
                "task",
                "Summaries that keep the evidence",
                "share of summaries",
                { color: "model", domain: [0, 1] },
              ),
            },
          ]
        : []),
    ],
    tables: [
      {
        head: [
          "task",
          "model",
          "single-token AUROC",
          "thinking AUROC",
          "traces without verdict",
          "summaries keeping the evidence",
        ],
        rows: f.rows.map((x) => [
          x.task,
          x.model,
          fmtCI(x.single),
          fmtCI(x.thinking),
          x.unparseable,
          x.summary_recall ? fmtCI(x.summary_recall, true) : "–",
        ]),
      },
    ],
    note:
      `Summaries are checked against the built-in world's facts (the dangerous command's paths, the side ` +
      `computation's numbers). For tasks without such facts a judge model answers: ${JUDGE_PROMPT}`,
  };
}

export const formatTransfer = defineQuestion({
  id: "format_transfer",
  name: "format transfer",
  plan(b, f: FormatPart) {
    const m = b.train(
      models.formatTrained,
      [b.stage("classification", { classification: b.cls(f.source) })],
      b.replicatesOf(f),
    );
    for (const t of f.eval_tasks) {
      for (const model of [null, m]) {
        b.single(model, t);
        for (const r of model ?? [null]) {
          b.evaluate(r, t, "thinking");
          b.evaluate(r, t, "summary");
        }
      }
    }
  },
  analyse,
  finding,
  section,
});
