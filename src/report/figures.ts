/**
 * What the report and the viewer show: each question's section (built by its module, src/experiments/questions/) in
 * the paper's order, and one overall verdict from the figures.
 */
import type { Analysis } from "../experiments/analysis.js";
import { QUESTIONS } from "../experiments/questions/index.js";
import type { Results } from "./findings.js";
import { SMALL_TEST } from "./findings.js";
import type { Section } from "./section.js";

export type { Chart, Section, Table } from "./section.js";

/** The sections of a run's results, in the paper's order, numbered as they appear. */
export function sectionsOf(r: Results, a: Analysis): Section[] {
  const out: Section[] = [];
  for (const q of QUESTIONS) {
    const answer = r[q.id];
    if (answer) out.push((q.section as (r: unknown, a: Analysis) => Section)(answer, a));
  }
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
    ? ` Of ${tp.of} source → held-out task pairs, ${tp.helps} clearly ${tp.helps === 1 ? "helps" : "help"} and ` +
      `${tp.hurts} clearly ${tp.hurts === 1 ? "hurts" : "hurt"} against ` +
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
