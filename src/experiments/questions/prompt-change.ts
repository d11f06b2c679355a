/**
 * Question 3, a complete prompt change: trained on one question, asked another about the same kind of text; with and
 * without prompt-contrast pairs from other domains.
 */
import { z } from "zod";
import type { Interval } from "../../eval/metrics.js";
import { fmtCI } from "../../report/format.js";
import { evalOf, type Section } from "../../report/section.js";
import type { Analysis } from "../analysis.js";
import { models } from "../models.js";
import { defineQuestion } from "./question.js";
import { measureOver } from "../../eval/replicated.js";
import { barsWithCI, ci } from "../../report/charts.js";
import { Replicates } from "./schema.js";

export const PromptChangeSchema = z
  .object({
    train_task: z.string(),
    eval_task: z.string(),
    contrast_tasks: z.array(z.string()).default([]),
    replicates: Replicates.optional(),
  })
  .strict();
type PromptPart = z.infer<typeof PromptChangeSchema>;

export interface PromptRow {
  model: string;
  auroc_new_prompt: Interval;
  auroc_trained_prompt: Interval;
  follows_new: Interval;
  follows_trained: Interval;
}

export interface PromptResult {
  eval_task: string;
  train_task: string;
  rows: PromptRow[];
}

/** How often predictions (P ≥ 0.5) agree with the new prompt's labels and with the trained prompt's labels. */
function following(
  a: Analysis,
  model: string | null,
  evalTask: string,
  trainTask: string,
): { follows_new: Interval; follows_trained: Interval } {
  const p = a.reps(model, evalTask);
  const trained = a.run.train.splits.find((s) => s.task.id === trainTask);
  if (!trained) throw new Error(`no task "${trainTask}" among the run's tasks`);
  const old = new Map(trained.task.examples.map((e) => [e.id, e.label ? 1 : 0]));
  const oldLabels = p.ids.map((id) => old.get(id) ?? NaN);
  const agree =
    (labels: number[]) =>
    (scores: ArrayLike<number>, idx: Int32Array | null): number => {
      const ix = idx ? Array.from(idx) : p.labels.map((_, i) => i);
      const known = ix.filter((i) => Number.isFinite(labels[i]));
      return known.filter((i) => (scores[i] >= 0.5 ? 1 : 0) === labels[i]).length / known.length;
    };
  const boot = { ...a.boot, bothClasses: false };
  return {
    follows_new: measureOver(p.labels, p.reps, boot, agree(p.labels), [0, 1]),
    follows_trained: measureOver(p.labels, p.reps, boot, agree(oldLabels), [0, 1]),
  };
}

function analyse(a: Analysis, pc: PromptPart): PromptResult {
  const compared: [string, string | null][] = [
    ["untrained", null],
    ["trained", models.promptTrained],
    ...(pc.contrast_tasks.length ? [["trained + contrast pairs", models.promptContrast] as [string, string]] : []),
  ];
  const rows = compared.map(([name, m]) => ({
    model: name,
    auroc_new_prompt: a.aurocOf(m, pc.eval_task),
    auroc_trained_prompt: a.aurocOf(m, pc.train_task),
    ...following(a, m, pc.eval_task, pc.train_task),
  }));
  return { eval_task: pc.eval_task, train_task: pc.train_task, rows };
}

function finding(p: PromptResult): string {
  const [u, tr, c] = p.rows;
  return (
    `Asked the new question (${p.eval_task}) about texts of the trained domain, the model trained on ` +
    `${p.train_task} scores AUROC ${fmtCI(tr.auroc_new_prompt)} against ${fmtCI(u.auroc_new_prompt)} ` +
    `untrained; its answers agree with the new question's labels ${fmtCI(tr.follows_new, true)} of the time and ` +
    `with the trained question's labels ${fmtCI(tr.follows_trained, true)}` +
    (c
      ? `. With prompt-contrast pairs from other domains, AUROC on the new question is ` +
        `${fmtCI(c.auroc_new_prompt)} (agreement with the new labels ${fmtCI(c.follows_new, true)}, with the ` +
        `trained labels ${fmtCI(c.follows_trained, true)}).`
      : ".")
  );
}

const PROMPT_MODELS: Record<string, string> = {
  untrained: "untrained",
  trained: models.promptTrained,
  "trained + contrast pairs": models.promptContrast,
};

function section(p: PromptResult & { finding: string }, a: Analysis): Section {
  const evalFor = (model: string) => evalOf(a, PROMPT_MODELS[model] ?? model, p.eval_task);
  return {
    id: "prompt_change",
    title: "A complete prompt change",
    question:
      `Trained on ${p.train_task}, asked ${p.eval_task} about the same kind of text: does the model follow ` +
      `the new question or the trained rule?`,
    finding: p.finding,
    charts: [
      {
        id: "prompt-auroc",
        spec: barsWithCI(
          p.rows.map((x) => ({ model: x.model, ...ci(x.auroc_new_prompt), eval: evalFor(x.model) })),
          "model",
          `AUROC on the new question (${p.eval_task})`,
          "AUROC",
          { domain: [0, 1], rule: 0.5 },
        ),
      },
      {
        id: "prompt-agreement",
        spec: barsWithCI(
          p.rows.flatMap((x) => [
            { model: x.model, labels: "the new question's", ...ci(x.follows_new), eval: evalFor(x.model) },
            { model: x.model, labels: "the trained rule's", ...ci(x.follows_trained), eval: evalFor(x.model) },
          ]),
          "model",
          "Share of answers agreeing with each labelling",
          "share of answers",
          { color: "labels", domain: [0, 1], rule: 0.5 },
        ),
      },
    ],
    tables: [
      {
        head: [
          "model",
          "AUROC new question",
          "AUROC trained question",
          "agrees with new labels",
          "agrees with trained labels",
        ],
        rows: p.rows.map((x) => [
          x.model,
          fmtCI(x.auroc_new_prompt),
          fmtCI(x.auroc_trained_prompt),
          fmtCI(x.follows_new, true),
          fmtCI(x.follows_trained, true),
        ]),
      },
    ],
  };
}

export const promptChange = defineQuestion({
  id: "prompt_change",
  name: "prompt change",
  plan(b, p: PromptPart) {
    const reps = b.replicatesOf(p);
    b.single(null, p.eval_task);
    b.single(null, p.train_task);
    const plain = b.train(
      models.promptTrained,
      [b.stage("classification", { classification: b.cls([p.train_task]) })],
      reps,
    );
    b.single(plain, p.eval_task);
    b.single(plain, p.train_task);
    if (p.contrast_tasks.length) {
      const withContrast = b.train(
        models.promptContrast,
        [
          b.stage("classification", {
            classification: b.cls([p.train_task, ...p.contrast_tasks], Math.round(b.spec.train.examples_per_task / 2)),
            prompt_contrast: true,
            contrast_exclude: [p.eval_task],
          }),
        ],
        reps,
      );
      b.single(withContrast, p.eval_task);
      b.single(withContrast, p.train_task);
    }
  },
  analyse,
  finding,
  section,
});
