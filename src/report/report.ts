/**
 * `crossmon report RUN_DIR`: one self-contained HTML file (inline SVG charts), results.json and summary.md.
 * Each of the six questions gets its sentence (numbers and 95% intervals, whatever they show), a chart and a table.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Analysis, analyse } from "../experiments/analyze.js";
import { describe, fmtCI, type Results } from "./findings.js";
import type { RunContext } from "../experiments/runner.js";
import { toSvg } from "./charts.js";
import { headline, sectionsOf } from "./figures.js";
import { planSpec, type SpecPlan } from "../experiments/power.js";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const f2 = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(2);

function table(head: string[], rows: (string | number)[][]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const tr = (r: (string | number)[]) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join("")}</tr>`;
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows.map(tr).join("")}</tbody></table>`;
}

function section(id: string, title: string, question: string, finding: string, body: string): string {
  return (
    `<section id="${esc(id)}"><h2>${esc(title)}</h2><p class="q">${esc(question)}</p><p ` +
    `class="finding">${esc(finding)}</p>${body}</section>`
  );
}

const EVAL_COLUMNS = [
  "model",
  "task",
  "n",
  "AUROC [95% CI]",
  "acc@0.5",
  "acc@val thr",
  "TPR@1%FPR",
  "TPR@5%FPR",
  "Brier",
  "ECE",
  "log-loss",
  "mass",
];

const STYLE = `
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
  line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.q{color:#666;font-style:italic}.finding{background:#f3f7fb;border-left:4px solid #4c78a8;padding:.6em .9em}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f6f6f6}
svg{margin:.5em 1em .5em 0;vertical-align:top;max-width:100%;height:auto}
pre{background:#f6f6f6;padding:1em;font-size:.75em;overflow-x:auto}.note{font-size:.85em;color:#555}
.headline{font-size:1.1em;font-weight:bold}details summary{cursor:pointer;color:#4c78a8}
`;

const tocEntry = (s: { id: string; title: string }) =>
  `<li><a href="#${esc(s.id)}">${esc(s.title.replace(/^\d+\. /, ""))}</a></li>`;

/** What each question of the run can detect, from its own variances (the stated defaults where it cannot tell). */
function powerOf(run: RunContext): SpecPlan {
  try {
    if (run.spec.experiments.transfer) return planSpec(run.spec, { pilot: run });
  } catch {
    // an incomplete run (a failed cell): no variances measured here
  }
  return planSpec(run.spec);
}

/** What the run's intervals resample, and how they are built (the README's statistics page says more). */
export function intervalMethod(replicates: number, bootstrap: number): string {
  const gap =
    "Gap recovered = (AUROC after training elsewhere − untrained) / (in-domain − untrained), paired over the same " +
    "examples, is given only where the gap is at least four standard errors from zero.";
  return replicates > 1
    ? `Each trained model was trained ${replicates} times with seeds from named streams; a figure is the mean over ` +
        "its replicates, and its 95% interval is mean ± t·se with se² = the variance of that mean over test " +
        `examples (a bootstrap of ${bootstrap} resamples, paired across models) + the replicates' variance / their ` +
        "number, and t from Welch–Satterthwaite's degrees of freedom. It covers test sampling and training " +
        `randomness (measured by \`npm run bench -- coverage\` on planted truths). ${gap}`
    : `Each model was trained once: intervals are 95% bootstrap percentile intervals over test examples ` +
        `(${bootstrap} resamples) and cover test sampling only; a re-run with another training seed can land ` +
        `outside them (set \`replicates:\` to cover training randomness). ${gap}`;
}

export async function writeReport(
  run: RunContext,
): Promise<{ html: string; json: string; md: string; results: Results }> {
  const r: Results & { detectable?: Record<string, number> } = describe(analyse(run));
  const a = new Analysis(run);
  const sections = sectionsOf(r, a);
  const verdict = headline(r);
  const parts: string[] = [];
  const md: string[] = [`# crossmon report: ${r.name}`, "", `Base model: \`${r.base_model}\`.`, "", verdict, ""];
  if (r.failed_cells.length || r.incomplete.length) {
    const lines = [
      `An incomplete run: ${r.failed_cells.length} cell(s) failed.`,
      ...r.failed_cells.map((f) => `Failed: ${f}.`),
      ...r.incomplete.map((x) => `Left out: ${x}.`),
    ];
    parts.push(`<section><h2>Incomplete</h2>${lines.map((l) => `<p class="note">${esc(l)}</p>`).join("")}</section>`);
    md.push(...lines.map((l) => `> ${l}`), "");
  }
  for (const s of sections) {
    let body = "";
    for (const c of s.charts) body += await toSvg(c.spec);
    for (const t of s.tables) body += (t.title ? `<h3>${esc(t.title)}</h3>` : "") + table(t.head, t.rows);
    if (s.note) body += `<p class="note">${esc(s.note)}</p>`;
    parts.push(section(s.id, s.title, s.question, s.finding, body));
    md.push(`## ${s.title}`, "", `*${s.question}*`, "", s.finding, "");
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
    `<section><h2>Every evaluation</h2><p class="q">Single-token scores on each test set. "Mass" is the ` +
      `probability the model puts on the two answer tokens: low mass means it is not answering in the expected ` +
      `format.</p>${table(EVAL_COLUMNS, evalRows)}</section>`,
  );
  const power = powerOf(run);
  r.detectable = Object.fromEntries(power.questions.map((q) => [q.question, q.detectable]));
  md.push(`${intervalMethod(r.replicates, run.spec.eval.bootstrap)}`, "");
  const totalSec = r.cells.reduce((s, c) => s + (c.seconds ?? 0), 0);
  parts.push(
    `<section><h2>How this was produced</h2><p>${r.cells.length} cells ` +
      `(${r.cells.filter((c) => c.kind === "train").length} trainings, ` +
      `${r.cells.filter((c) => c.kind === "eval").length} evaluations), ${Math.round(totalSec)} s of compute in ` +
      `the store. ${intervalMethod(r.replicates, run.spec.eval.bootstrap)}</p>` +
      `<h3>What each question can detect</h3><p class="note">The smallest true paired AUROC difference its headline ` +
      "comparison finds with 80% power (two-sided 5% test), from this run's own variances " +
      `(${esc(power.variances.source)}` +
      `: per-example test SD ${f2(power.variances.test_sd)}, seed SD ${power.variances.seed_sd.toFixed(3)}).</p>` +
      table(
        ["question", "comparison", "test examples", "replicates", "detectable"],
        power.questions.map((q) => [q.question, q.comparison, q.test_examples, q.replicates, q.detectable.toFixed(3)]),
      ) +
      `<details><summary>The experiment's configuration ` +
      `(JSON)</summary><pre>${esc(JSON.stringify(run.spec, null, 2))}</pre></details></section>`,
  );

  const head = `<head><meta charset="utf-8"><title>crossmon — ${esc(r.name)}</title><style>${STYLE}</style></head>`;
  const html = `<!doctype html><html lang="en">${head}<body><h1>crossmon report: ${esc(r.name)}</h1>
<p>Base model <code>${esc(r.base_model)}</code>. ${scopeOf(sections.map((x) => x.id))}</p>>
<p class="headline">${esc(verdict)}</p>
<ol class="toc">${sections.map(tocEntry).join("")}</ol>
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

/** Which questions the report answers: the paper's six (or some of them), and crossmon's own on how monitors fail. */
function scopeOf(ids: string[]): string {
  const own = ids.filter((id) => id === "context_length" || id === "evasion").length;
  const paper = ids.length - own;
  const paperPart =
    paper === 6
      ? "Martin &amp; Roger's six questions"
      : paper > 0
        ? `${paper === 1 ? "one" : paper} of Martin &amp; Roger's six questions`
        : "";
  const ownPart = own ? `${own === 1 ? "one question" : "two questions"} of how monitors fail (crossmon's own)` : "";
  const both = [paperPart, ownPart].filter(Boolean).join(" and ");
  return `${both.charAt(0).toUpperCase()}${both.slice(1)}, as this run answers ${ids.length === 1 ? "it" : "them"}.`;
}
