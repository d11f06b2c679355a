/**
 * Question 6, unsupervised elicitation: the untrained model's with-thinking verdicts on unlabelled texts become
 * 1-token labels; compared with the untrained model and with true labels.
 */
import { z } from "zod";
import type { Interval } from "../../eval/metrics.js";
import { fmtCI, pct } from "../../report/format.js";
import { evalOf, type Section } from "../../report/section.js";
import type { Analysis } from "../analysis.js";
import { models } from "../models.js";
import { defineQuestion } from "./question.js";
import { barsWithCI, ci } from "../../report/charts.js";
import { Replicates } from "./schema.js";

export const ElicitationSchema = z
  .object({
    replicates: Replicates.optional(),
    target: z.string(),
    examples: z.number().int().positive(),
    /** a task whose unlabelled texts (`unlabelled: true` in its manifest) are pseudo-labelled instead */
    pool: z.string().optional(),
  })
  .strict();
type ElicitationPart = z.infer<typeof ElicitationSchema>;
type ElicitationResult = ReturnType<typeof analyse>;

function analyse(
  a: Analysis,
  el: ElicitationPart,
): {
  target: string;
  untrained: Interval;
  pseudo: Interval;
  supervised: Interval;
  /** null when the pseudo-labelled texts are an unlabelled pool */
  pseudo_label_accuracy: number | null;
  examples: number;
  /** the task whose unlabelled texts were pseudo-labelled, or null for the target's own training texts */
  pool: string | null;
} {
  const u = a.aurocOf(null, el.target),
    p = a.aurocOf(models.elicitPseudo, el.target),
    s = a.aurocOf(models.elicitSupervised, el.target);
  const pseudo = a.need(null, el.pool ?? el.target, "thinking", el.pool ? "pool" : "train");
  const acc = el.pool
    ? null
    : pseudo.scores.filter((x, i) => (x >= 0.5 ? 1 : 0) === pseudo.labels[i]).length / pseudo.scores.length;
  return {
    target: el.target,
    untrained: u,
    pseudo: p,
    supervised: s,
    pseudo_label_accuracy: acc,
    examples: el.examples,
    pool: el.pool ?? null,
  };
}

function finding(e: ElicitationResult): string {
  const texts =
    e.pool !== null || e.pseudo_label_accuracy === null
      ? `${e.examples} unlabelled texts of ${e.pool} (no labels to check them against)`
      : `${e.examples} unlabelled training texts with ${pct(e.pseudo_label_accuracy)} accuracy`;
  const reference =
    e.pool !== null
      ? `with ${e.examples} truly labelled training texts of ${e.target}`
      : "with the true labels on the same texts";
  return (
    `On ${e.target}, the untrained model's with-thinking verdicts label ${texts}; 1-token training on ` +
    `those pseudo-labels gives AUROC ${fmtCI(e.pseudo)}, against ${fmtCI(e.untrained)} untrained and ` +
    `${fmtCI(e.supervised)} ${reference}.`
  );
}

function section(e: ElicitationResult & { finding: string }, a: Analysis): Section {
  const reference =
    e.pseudo_label_accuracy === null ? "true labels, target's training texts" : "true labels, same texts";
  return {
    id: "elicitation",
    title: "Unsupervised elicitation",
    question: "Can the model's own with-thinking verdicts on unlabelled data replace labels for 1-token training?",
    finding: e.finding,
    charts: [
      {
        id: "elicitation-bars",
        spec: barsWithCI(
          [
            { model: "untrained", ...ci(e.untrained), eval: evalOf(a, "untrained", e.target) },
            { model: "pseudo-labels", ...ci(e.pseudo), eval: evalOf(a, models.elicitPseudo, e.target) },
            { model: "true labels", ...ci(e.supervised), eval: evalOf(a, models.elicitSupervised, e.target) },
          ],
          "model",
          `AUROC on ${e.target}`,
          "AUROC",
          { domain: [0, 1], rule: 0.5 },
        ),
      },
    ],
    tables: [
      {
        head: ["model", "AUROC [95% CI]"],
        rows: [
          ["untrained", fmtCI(e.untrained)],
          ["pseudo-labels (thinking verdicts)", fmtCI(e.pseudo)],
          [reference, fmtCI(e.supervised)],
        ],
      },
    ],
  };
}

export const elicitation = defineQuestion({
  id: "elicitation",
  name: "elicitation",
  plan(b, el: ElicitationPart) {
    const reps = b.replicatesOf(el);
    b.single(null, el.target);
    // the texts pseudo-labelled: the target's training split, or another task's unlabelled pool
    const from = el.pool ?? el.target;
    const pseudo = b.evaluate(null, from, "thinking", el.pool ? "pool" : "train", el.examples);
    b.single(
      b.train(
        models.elicitPseudo,
        [b.stage("classification", { classification: [{ task: from, examples: el.examples }] })],
        reps,
        { from: pseudo, true: false },
      ),
      el.target,
    );
    // the supervised reference: the same texts with their true labels; a pool has none, so the target's own
    // training split, as many examples, stands in
    b.single(
      b.train(
        models.elicitSupervised,
        [b.stage("classification", { classification: [{ task: el.target, examples: el.examples }] })],
        reps,
        el.pool ? undefined : { from: pseudo, true: true },
      ),
      el.target,
    );
  },
  analyse,
  finding,
  section,
});
