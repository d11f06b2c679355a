/**
 * `crossmon report RUN_DIR`: one self-contained HTML file (inline SVG charts), results.json and summary.md.
 * Each of the six questions gets its sentence (numbers and 95% intervals, whatever they show), a chart and a table.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { rocCurve } from "../eval/metrics.js";
import { Analysis, analyse, fmtCI, type Results } from "../experiments/analyze.js";
import type { RunContext } from "../experiments/runner.js";
import { JUDGE_PROMPT } from "../eval/evaluate.js";
import { barsWithCI, ci, heatmap, lineWithBand, rocChart, toSvg } from "./charts.js";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const f2 = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(2);

function table(head: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

function section(title: string, question: string, finding: string, body: string): string {
  return `<section><h2>${esc(title)}</h2><p class="q">${esc(question)}</p><p class="finding">${esc(finding)}</p>${body}</section>`;
}

export async function writeReport(
  run: RunContext,
): Promise<{ html: string; json: string; md: string; results: Results }> {
  const r = analyse(run);
  const a = new Analysis(run);
  const parts: string[] = [];
  const md: string[] = [`# crossmon report: ${r.name}`, "", `Base model: \`${r.base_model}\`.`, ""];
  const add = (title: string, question: string, finding: string, body: string) => {
    parts.push(section(title, question, finding, body));
    md.push(`## ${title}`, "", `*${question}*`, "", finding, "");
  };

  if (r.transfer) {
    const t = r.transfer;
    const heat = t.eval_tasks.flatMap((e) => [
      { source: "untrained", task: e.task, auroc: e.untrained.value },
      ...e.sources.map((s) => ({ source: s.name, task: e.task, auroc: s.auroc.value })),
      { source: "in-domain", task: e.task, auroc: e.in_domain.value },
    ]);
    let body = await toSvg(
      heatmap(heat, "task", "source", "auroc", "AUROC by training source (rows) and held-out task (columns)"),
    );
    for (const e of t.eval_tasks) {
      body += await toSvg(
        barsWithCI(
          e.sources.map((s) => ({ source: s.name, ...ci(s.gap) })),
          "source",
          e.gap.lo > 0
            ? `Gap recovered on ${e.task} (axis clipped to −100%…150%)`
            : `Gap recovered on ${e.task}: no clear gap to recover, so noise`,
          "gap recovered",
          { rule: 0, domain: [-1, 1.5] },
        ),
      );
      // ROC curves: untrained, in-domain, and the best single source
      const best = [...e.sources].sort((x, y) => (y.gap.value || -9) - (x.gap.value || -9))[0];
      const curves: Record<string, unknown>[] = [];
      for (const [name, m] of [
        ["untrained", null],
        ["in-domain", a.model(`in-domain:${e.task}`)],
        [`source: ${best.name}`, a.model(`source:${best.name}`)],
      ] as [string, string | null][]) {
        const p = a.preds(m, e.task)!;
        const roc = rocCurve(p.labels, p.scores);
        roc.fpr.forEach((f, i) => curves.push({ model: name, fpr: f, tpr: roc.tpr[i], i }));
      }
      body += await toSvg(rocChart(curves as never, `ROC on ${e.task}`));
      body += table(
        ["source", "AUROC [95% CI]", "gap recovered [95% CI]", "AUROC − untrained [95% CI]"],
        [
          ["untrained", fmtCI(e.untrained), "0", "0"],
          ...e.sources.map((s) => [s.name, fmtCI(s.auroc), fmtCI(s.gap, true), fmtCI(s.diff_vs_untrained)]),
          ["in-domain", fmtCI(e.in_domain), "100%", fmtCI(e.gap)],
        ],
      );
    }
    add(
      "1. Transfer across domains",
      "Does training on other domains' classification tasks help on held-out monitoring tasks, and how much of the gap to in-domain training does it close?",
      t.finding,
      body,
    );
  }
  if (r.scaling) {
    const s = r.scaling;
    const body =
      (await toSvg(
        lineWithBand(
          s.points.map((p) => ({ adjacent: p.adjacent, ...ci(p.auroc) })),
          "adjacent",
          `AUROC on ${s.target} with ${s.in_domain} in-domain examples`,
          `${s.adjacent_task} examples added`,
          "AUROC",
        ),
      )) +
      table(
        ["adjacent examples", "AUROC [95% CI]"],
        s.points.map((p) => [p.adjacent, fmtCI(p.auroc)]),
      );
    add(
      "2. Scaling adjacent data",
      "With a fixed amount of in-domain data, does adding more adjacent-domain data help?",
      s.finding,
      body,
    );
  }
  if (r.prompt_change) {
    const p = r.prompt_change;
    const rows = p.rows.flatMap((x) => [
      { model: x.model, measure: "AUROC, new question", ...ci(x.auroc_new_prompt) },
      { model: x.model, measure: "agrees with new labels", ...ci(x.follows_new) },
      { model: x.model, measure: "agrees with trained labels", ...ci(x.follows_trained) },
    ]);
    const body =
      (await toSvg(
        barsWithCI(rows, "measure", `A changed question on the trained domain (${p.eval_task})`, "value", {
          color: "model",
          domain: [0, 1],
          rule: 0.5,
        }),
      )) +
      table(
        [
          "model",
          "AUROC new question",
          "AUROC trained question",
          "agrees with new labels",
          "agrees with trained labels",
        ],
        p.rows.map((x) => [
          x.model,
          fmtCI(x.auroc_new_prompt),
          fmtCI(x.auroc_trained_prompt),
          fmtCI(x.follows_new, true),
          fmtCI(x.follows_trained, true),
        ]),
      );
    add(
      "3. A complete prompt change",
      `Trained on ${p.train_task}, asked ${p.eval_task} about the same kind of text: does the model follow the new question or the trained rule?`,
      p.finding,
      body,
    );
  }
  if (r.instruction) {
    const i = r.instruction;
    const rows = i.rows.flatMap((x) => i.tasks.map((t) => ({ variant: x.variant, task: t, ...ci(x.auroc[t]) })));
    const body =
      (await toSvg(
        barsWithCI(rows, "variant", "AUROC by instruction-following recipe", "AUROC", {
          color: "task",
          domain: [0, 1],
          rule: 0.5,
        }),
      )) +
      table(
        ["recipe", ...i.tasks],
        i.rows.map((x) => [x.variant, ...i.tasks.map((t) => fmtCI(x.auroc[t]))]),
      );
    add(
      "4. Instruction-following training",
      "Does IF training (after classification training, or mixed into it) keep the transfer gain and fix the prompt-change failure?",
      i.finding,
      body,
    );
  }
  if (r.format_transfer) {
    const f = r.format_transfer;
    const rows = f.rows.flatMap((x) => [
      { what: `${x.task}: thinking AUROC`, model: x.model, ...ci(x.thinking) },
      ...(x.summary_recall
        ? [{ what: `${x.task}: summary keeps evidence`, model: x.model, ...ci(x.summary_recall) }]
        : []),
    ]);
    const body =
      (await toSvg(
        barsWithCI(rows, "what", "Formats other than the trained one", "value", { color: "model", domain: [0, 1] }),
      )) +
      table(
        [
          "task",
          "model",
          "single-token AUROC",
          "thinking AUROC",
          "traces without verdict",
          "summaries keeping the evidence",
        ],
        f.rows.map((x) => [
          x.task,
          x.model,
          fmtCI(x.single),
          fmtCI(x.thinking),
          x.unparseable,
          x.summary_recall ? fmtCI(x.summary_recall, true) : "–",
        ]),
      );
    add(
      "5. Format transfer",
      "Does 1-token classification training also help when the monitor reasons first, or writes a summary?",
      f.finding,
      `${body}<p class="note">Summaries are checked against the built-in world's facts (the dangerous command's paths, the side computation's numbers). For tasks without such facts a judge model answers: <code>${esc(JUDGE_PROMPT)}</code></p>`,
    );
  }
  if (r.elicitation) {
    const e = r.elicitation;
    const body =
      (await toSvg(
        barsWithCI(
          [
            { model: "untrained", ...ci(e.untrained) },
            { model: "pseudo-labels", ...ci(e.pseudo) },
            { model: "true labels", ...ci(e.supervised) },
          ],
          "model",
          `AUROC on ${e.target}`,
          "AUROC",
          { domain: [0, 1], rule: 0.5 },
        ),
      )) +
      table(
        ["model", "AUROC [95% CI]"],
        [
          ["untrained", fmtCI(e.untrained)],
          ["pseudo-labels (thinking verdicts)", fmtCI(e.pseudo)],
          [
            e.pseudo_label_accuracy === null ? "true labels, target's training texts" : "true labels, same texts",
            fmtCI(e.supervised),
          ],
        ],
      );
    add(
      "6. Unsupervised elicitation",
      "Can the model's own with-thinking verdicts on unlabelled data replace labels for 1-token training?",
      e.finding,
      body,
    );
  }
  const evalRows = r.evaluations.map((e) => [
    e.model,
    e.task,
    e.n,
    fmtCI(e.auroc),
    f2(e.accuracy_at_half),
    f2(e.accuracy_at_val_threshold),
    f2(e.tpr_at_1pct_fpr),
    f2(e.tpr_at_5pct_fpr),
    f2(e.brier),
    f2(e.ece),
    f2(e.log_loss),
    f2(e.mean_mass),
  ]);
  parts.push(
    `<section><h2>Every evaluation</h2><p class="q">Single-token scores on each test set. "Mass" is the probability the model puts on the two answer tokens: low mass means it is not answering in the expected format.</p>${table(["model", "task", "n", "AUROC [95% CI]", "acc@0.5", "acc@val thr", "TPR@1%FPR", "TPR@5%FPR", "Brier", "ECE", "log-loss", "mass"], evalRows)}</section>`,
  );
  const totalSec = r.cells.reduce((s, c) => s + (c.seconds ?? 0), 0);
  parts.push(
    `<section><h2>How this was produced</h2><p>${r.cells.length} cells (${r.cells.filter((c) => c.kind === "train").length} trainings, ${r.cells.filter((c) => c.kind === "eval").length} evaluations), ${Math.round(totalSec)} s of compute in the store. Intervals are 95% bootstrap percentile intervals over test examples (${run.spec.eval.bootstrap} resamples); gap recovered = (AUROC after training elsewhere − untrained) / (in-domain − untrained), paired over the same examples.</p><pre>${esc(JSON.stringify(run.spec, null, 2))}</pre></section>`,
  );

  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>crossmon — ${esc(r.name)}</title><style>
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.q{color:#666;font-style:italic}.finding{background:#f3f7fb;border-left:4px solid #4c78a8;padding:.6em .9em}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f6f6f6}
svg{margin:.5em 1em .5em 0;vertical-align:top}pre{background:#f6f6f6;padding:1em;font-size:.75em;overflow-x:auto}.note{font-size:.85em;color:#555}
</style></head><body><h1>crossmon report: ${esc(r.name)}</h1><p>Base model <code>${esc(r.base_model)}</code>. Martin &amp; Roger's six questions, as this run answers them.</p>
<ol>${[r.transfer, r.scaling, r.prompt_change, r.instruction, r.format_transfer, r.elicitation].map((x) => (x ? `<li>${esc(x.finding)}</li>` : "")).join("")}</ol>
${parts.join("\n")}</body></html>`;
  const out = {
    html: join(run.dir, "report.html"),
    json: join(run.dir, "results.json"),
    md: join(run.dir, "summary.md"),
  };
  writeFileSync(out.html, html);
  writeFileSync(
    out.json,
    JSON.stringify(r, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2),
  );
  writeFileSync(out.md, `${md.join("\n")}\n`);
  return { ...out, results: r };
}
