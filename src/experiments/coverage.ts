/**
 * The planted-truth check: simulated studies through the real plan → cells → analysis → findings path, on a backend
 * whose models have known AUROCs (src/backends/planted.ts), and how often each kind of 95% interval covers the truth.
 * `npm run bench -- coverage` runs it at full size; a quick version is in the tests.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PlantedBackend, PlantedExamples, plantedAuroc, type PlantedTruth } from "../backends/planted.js";
import type { Interval } from "../eval/metrics.js";
import { describe } from "../report/findings.js";
import { analyse } from "./analyze.js";
import { planRun, runExperiment } from "./runner.js";
import { parseExperimentSpec, type ExperimentSpec } from "./spec.js";

/** The simulated study's design: transfer from two single-task sources to two held-out tasks, with in-domain. */
export const COVERAGE_SOURCES = { cyber: ["cyber_harm"], chem: ["chem_harm"] } as const;
export const COVERAGE_TARGETS = ["agent_dangerous", "email_phishing"] as const;

/**
 * The truths the simulation plants (chosen to span small and large effects, never to produce a coverage figure):
 * untrained AUROCs, in-domain gains of 0.2, and source effects from none to 0.08.
 */
export function coverageTruth(seedSd: number): PlantedTruth {
  const effects: Record<string, Record<string, number>> = {
    agent_dangerous: { agent_dangerous: 0.2, cyber_harm: 0.08, chem_harm: 0.02 },
    email_phishing: { email_phishing: 0.2, cyber_harm: 0.05, chem_harm: 0 },
  };
  return {
    untrained: { agent_dangerous: 0.62, email_phishing: 0.7, cyber_harm: 0.65, chem_harm: 0.65 },
    effect: (from, to) => effects[to]?.[from] ?? 0,
    seedSd,
    shared: 0.5,
  };
}

export function coverageSpec(base: string, study: number, replicates: number, testExamples: number): ExperimentSpec {
  return parseExperimentSpec({
    name: `coverage-${study}`,
    base_model: base,
    seed: study,
    replicates,
    data: { world: { seed: 0, size: 1500 }, split_seed: 0 },
    train: { examples_per_task: 50 },
    eval: { examples: testExamples, validation: 0, bootstrap: 300 },
    experiments: {
      transfer: {
        sources: COVERAGE_SOURCES,
        eval_tasks: [...COVERAGE_TARGETS],
        leave_one_out: false,
      },
    },
  });
}

export interface CoverageCounts {
  auroc: { covered: number; of: number };
  diff: { covered: number; of: number };
  gap: { covered: number; of: number };
  /** gap shares the report withheld (gap too small to divide by) */
  gap_withheld: number;
  /** trained − trained differences (the highest source against the next) */
  diff_trained: { covered: number; of: number };
}

const empty = (): CoverageCounts => ({
  auroc: { covered: 0, of: 0 },
  diff: { covered: 0, of: 0 },
  gap: { covered: 0, of: 0 },
  gap_withheld: 0,
  diff_trained: { covered: 0, of: 0 },
});

function tally(c: { covered: number; of: number }, i: Interval, truth: number) {
  c.of++;
  if (i.lo <= truth && truth <= i.hi) c.covered++;
}

/**
 * Runs `studies` simulated studies (numbered from `first`) at one setting; returns how often each kind of interval
 * covered its planted truth.
 */
export async function measureCoverage(o: {
  base: string;
  replicates: number;
  seedSd: number;
  studies: number;
  first?: number;
  testExamples?: number;
  onStudy?: (done: number) => void;
}): Promise<CoverageCounts> {
  const counts = empty();
  const truth = coverageTruth(o.seedSd);
  const first = o.first ?? 0;
  const spec0 = coverageSpec(o.base, first, o.replicates, o.testExamples ?? 120);
  const prepared = await planRun(spec0, () => {});
  const examples = new PlantedExamples(prepared.train);
  const tmp = mkdtempSync(join(tmpdir(), "crossmon-coverage-"));
  try {
    for (let i = 0; i < o.studies; i++) {
      const study = first + i;
      const spec = coverageSpec(o.base, study, o.replicates, o.testExamples ?? 120);
      const backend = new PlantedBackend(truth, examples, study);
      const dir = join(tmp, `study-${study}`);
      const run = await runExperiment(spec, dir, { backend, quiet: true, log: () => {}, context: prepared.train });
      const r = describe(analyse(run)).transfer;
      run.store.close();
      rmSync(dir, { recursive: true, force: true });
      if (!r) throw new Error("coverage: the simulated study gave no transfer result");
      for (const e of r.eval_tasks) {
        const u = plantedAuroc(truth, [], e.task);
        const d = plantedAuroc(truth, [e.task], e.task);
        tally(counts.auroc, e.untrained, u);
        if (e.in_domain) tally(counts.auroc, e.in_domain, d);
        if (e.gap) tally(counts.diff, e.gap, d - u);
        const trainedOn = (name: string) => [...COVERAGE_SOURCES[name as keyof typeof COVERAGE_SOURCES]];
        for (const s of e.sources) {
          const a = plantedAuroc(truth, trainedOn(s.name), e.task);
          tally(counts.auroc, s.auroc, a);
          tally(counts.diff, s.diff_vs_untrained, a - u);
          if (s.gap) tally(counts.gap, s.gap, (a - u) / (d - u));
          if (s.gap_withheld) counts.gap_withheld++;
        }
        if (e.lead)
          tally(
            counts.diff_trained,
            e.lead.diff,
            plantedAuroc(truth, trainedOn(e.lead.top), e.task) - plantedAuroc(truth, trainedOn(e.lead.over), e.task),
          );
      }
      o.onStudy?.(i + 1);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return counts;
}
