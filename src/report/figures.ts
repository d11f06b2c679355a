/**
 * What the report and the viewer show for each question: its title, question, finding, charts (vega-lite specs) and
 * tables, built once here, so both show the same numbers. Chart rows carry the evaluation cell behind them (`eval`),
 * which the viewer opens on a click and the report ignores.
 */
import { rocCurve } from "../eval/metrics.js";
import type { Analysis } from "../experiments/analyze.js";
import { fmtCI, type Results, SMALL_TEST, transferPairs } from "./findings.js";
import type { Format } from "../experiments/plan.js";
import { JUDGE_PROMPT } from "../eval/evaluate.js";
import { models, UNTRAINED } from "../experiments/models.js";
import { barsWithCI, ci, heatmap, lineWithBand, rocChart } from "./charts.js";

export interface Table {
  /** what the table is about, when a section has several */
  title?: string;
  head: string[];
  rows: (string | number)[][];
}

export interface Chart {
  id: string;
  spec: Record<string, unknown>;
}

export interface Section {
  id: string;
  title: string;
  question: string;
  finding: string;
  charts: Chart[];
  tables: Table[];
  note?: string;
}

/** The evaluation cell of a model (by its label in the plan, or "untrained") on a task, for a click to open. */
function evalOf(a: Analysis, label: string, task: string, format: Format = "single"): string | null {
  const model = label === "untrained" ? null : (a.run.plan.models[label] ?? undefined);
  if (model === undefined) return null;
  return a.cell(model, task, format)?.key ?? null;
}

function transfer(r: NonNullable<Results["transfer"]>, a: Analysis): Section {
  const charts: Chart[] = [];
  const tables: Table[] = [];
  // a pair that clearly helps (▲) or hurts (▼) against untrained after Holm's correction over all pairs
  const clear = new Map(transferPairs(r).map((p) => [`${p.source}\0${p.task}`, p.clear]));
  const mark = (source: string, task: string) => {
    const c = clear.get(`${source}\0${task}`);
    return c === "helps" ? " ▲" : c === "hurts" ? " ▼" : "";
  };
  const heat = r.eval_tasks.flatMap((e) => [
    { source: "untrained", task: e.task, auroc: e.untrained.value, eval: evalOf(a, "untrained", e.task) },
    ...e.sources.map((s) => ({
      source: s.name,
      task: e.task,
      auroc: s.auroc.value,
      mark: mark(s.name, e.task),
      eval: evalOf(a, models.source(s.name), e.task),
    })),
    ...(e.in_domain
      ? [
          {
            source: "in-domain",
            task: e.task,
            auroc: e.in_domain.value,
            eval: evalOf(a, models.inDomain(e.task), e.task),
          },
        ]
      : []),
  ]);
  charts.push({
    id: "transfer-matrix",
    spec: heatmap(
      heat,
      "task",
      "source",
      "auroc",
      "AUROC by training source (rows) and held-out task (columns); ▲/▼: clearly above/below untrained (Holm)",
    ),
  });
  for (const e of r.eval_tasks) {
    // shares are given only over a gap clearly there (GAP_MIN_Z standard errors; see gapIsGiven)
    const measurable = e.sources.some((s) => s.gap !== null);
    // a share of a gap that is not clearly there is noise over noise: no bars, no percentages
    if (measurable)
      charts.push({
        id: `transfer-gap-${e.task}`,
        spec: barsWithCI(
          e.sources.map((s) => ({ source: s.name, ...ci(s.gap!), eval: evalOf(a, models.source(s.name), e.task) })),
          "source",
          `Gap recovered on ${e.task} (axis clipped to −100%…150%)`,
          "gap recovered",
          { rule: 0, domain: [-1, 1.5] },
        ),
      });
    const best = [...e.sources].sort(
      (x, y) => (y.diff_vs_untrained.value || -9) - (x.diff_vs_untrained.value || -9),
    )[0];
    const curves: Record<string, string | number | null>[] = [];
    for (const [name, label] of [
      ["untrained", "untrained"],
      ...(e.in_domain ? [["in-domain", models.inDomain(e.task)]] : []),
      [`source: ${best.name}`, models.source(best.name)],
    ]) {
      const p = a.preds(label === "untrained" ? null : a.model(label), e.task);
      if (!p) continue;
      const roc = rocCurve(p.labels, p.scores);
      roc.fpr.forEach((f, i) => curves.push({ model: name, fpr: f, tpr: roc.tpr[i], i }));
    }
    charts.push({ id: `transfer-roc-${e.task}`, spec: rocChart(curves, `ROC on ${e.task}`) });
    const gapCol = (s: string) =>
      measurable
        ? s
        : !e.gap
          ? "– (evaluation only)"
          : e.gap.lo > 0
            ? "– (gap too small to divide by)"
            : "– (no clear gap)";
    tables.push({
      title: `On ${e.task}`,
      head: ["source", "AUROC [95% CI]", "gap recovered [95% CI]", "AUROC − untrained [95% CI]"],
      rows: [
        ["untrained", fmtCI(e.untrained), gapCol("0"), "0"],
        ...e.sources.map((s) => [
          s.name,
          fmtCI(s.auroc),
          gapCol(s.gap ? fmtCI(s.gap, true) : ""),
          fmtCI(s.diff_vs_untrained),
        ]),
        ...(e.in_domain && e.gap ? [["in-domain", fmtCI(e.in_domain), gapCol("100%"), fmtCI(e.gap)]] : []),
      ],
    });
  }
  return {
    id: "transfer",
    title: "Transfer across domains",
    question:
      "Does training on other domains' classification tasks help on held-out monitoring tasks, and how much of the " +
      "gap to in-domain training does it close?",
    finding: r.finding,
    charts,
    tables,
  };
}

function scaling(s: NonNullable<Results["scaling"]>, a: Analysis): Section {
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

const PROMPT_MODELS: Record<string, string> = {
  untrained: "untrained",
  trained: models.promptTrained,
  "trained + contrast pairs": models.promptContrast,
};

function promptChange(p: NonNullable<Results["prompt_change"]>, a: Analysis): Section {
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

function instruction(i: NonNullable<Results["instruction"]>, a: Analysis): Section {
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

function formats(f: NonNullable<Results["format_transfer"]>, a: Analysis): Section {
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

function elicitation(e: NonNullable<Results["elicitation"]>, a: Analysis): Section {
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

/** The sections of a run's results, in the paper's order, numbered as they appear. */
export function sectionsOf(r: Results, a: Analysis): Section[] {
  const out = [
    r.transfer && transfer(r.transfer, a),
    r.scaling && scaling(r.scaling, a),
    r.prompt_change && promptChange(r.prompt_change, a),
    r.instruction && instruction(r.instruction, a),
    r.format_transfer && formats(r.format_transfer, a),
    r.elicitation && elicitation(r.elicitation, a),
  ].filter((s): s is Section => !!s);
  return out.map((s, i) => ({ ...s, title: `${i + 1}. ${s.title}` }));
}

/**
 * One overall verdict from the figures: the range of every test AUROC, how many lie clearly above chance, and how many
 * trained models differ clearly from the untrained one on the same examples.
 */
export function headline(r: Results): string {
  const aurocs = r.models.map((e) => e.auroc);
  if (!aurocs.length) return "No evaluation has finished yet.";
  const lo = Math.min(...aurocs.map((x) => x.value));
  const hi = Math.max(...aurocs.map((x) => x.value));
  const { above_chance: above, paired_differences: diffs } = r.counts;
  const diffPart = diffs.of
    ? ` Of ${diffs.of} paired differences between a trained and the untrained model on held-out tasks, ` +
      `${diffs.uncorrected} ${diffs.uncorrected === 1 ? "excludes" : "exclude"} zero (${diffs.holm} after Holm's ` +
      `correction for ${diffs.of}).`
    : "";
  const tp = r.counts.transfer_pairs;
  const pairPart = tp?.of
    ? ` Of ${tp.of} source → held-out task pairs, ${tp.helps} clearly help and ${tp.hurts} clearly hurt against ` +
      "the untrained model (Holm's correction over the pairs)."
    : "";
  const { sizes, small } = r.test_sizes;
  const smallPart = small.length
    ? ` Small test sets (under ${SMALL_TEST} examples, so wide intervals): ` +
      `${small.map((t) => `${t} (${sizes[t]})`).join(", ")}.`
    : "";
  const covers =
    r.replicates > 1
      ? ` Each trained model was trained ${r.replicates} times (seeds from named streams): figures are means over ` +
        "those replicates, and every 95% interval covers both test sampling and training randomness."
      : " Each model was trained once: every 95% interval resamples test examples only, and a re-run with another " +
        "training seed can land outside it (set `replicates:` to cover training randomness).";
  return (
    `Across ${above.of} evaluations, test AUROCs lie within ${lo.toFixed(2)}–${hi.toFixed(2)}; ` +
    `${above.uncorrected} of ${above.of} ${above.uncorrected === 1 ? "lies" : "lie"} clearly above chance (95% ` +
    `interval above 0.5), ${above.holm} after Holm's correction for ${above.of} comparisons.` +
    `${diffPart}${pairPart}${smallPart}${covers}`
  );
}
