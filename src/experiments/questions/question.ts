/**
 * One of the study's questions, whole: what it adds to the plan, how it analyses the run, the sentence that says what
 * the run shows, and its report section. Each question is one module beside this file; a new question is a new
 * module, listed in index.ts and given its schema in spec.ts.
 */
import type { DerivedTaskSpec } from "../../data/transforms/derived.js";
import type { Section } from "../../report/section.js";
import type { Analysis } from "../analysis.js";
import type { PlanBuilder } from "../plan.js";
import type { ExperimentSpec } from "../spec.js";

export interface Question<K extends string, Part, R> {
  /** its key under `experiments:` in a spec, and in results.json */
  id: K;
  /** how the report names it where its cells are missing */
  name: string;
  /** transformed tasks the question evaluates or trains on, added to the run's tasks before it is planned */
  derived?(part: Part, spec: ExperimentSpec): DerivedTaskSpec[];
  plan(b: PlanBuilder, part: Part, spec: ExperimentSpec): void;
  analyse(a: Analysis, part: Part, spec: ExperimentSpec): R;
  finding(r: R): string;
  section(r: R & { finding: string }, a: Analysis): Section;
}

export const defineQuestion = <K extends string, Part, R>(q: Question<K, Part, R>): Question<K, Part, R> => q;
