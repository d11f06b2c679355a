/**
 * A report section as every question builds it (its sentence, charts and tables), and the evaluation cell behind a
 * chart row, which the viewer opens on a click and the report ignores.
 */
import type { Analysis } from "../experiments/analysis.js";
import type { Format } from "../experiments/plan.js";

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
export function evalOf(a: Analysis, label: string, task: string, format: Format = "single"): string | null {
  const model = label === "untrained" ? null : (a.run.plan.models[label] ?? undefined);
  if (model === undefined) return null;
  return a.cell(model, task, format)?.key ?? null;
}
