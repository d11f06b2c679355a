/**
 * A run's per-example predictions as one table, for pandas or a spreadsheet: one row per (evaluation, example) with
 * the model's name as the plan gives it, the task, split and format, the label, the score, the answer tokens' mass
 * (single-token evaluations) and the example's provenance (for imported Inspect samples: log, sample id, epoch).
 * CSV, JSON Lines or Parquet, chosen by the output's extension; written beside and renamed, so a file is whole.
 */
import { renameSync, writeFileSync } from "node:fs";
import { extname } from "node:path";
import { stringify } from "csv-stringify/sync";
import { parquetWriteBuffer } from "hyparquet-writer";
import { InputError } from "../core/errors.js";
import type { Example } from "../data/task.js";
import { openRun } from "./open.js";

export interface PredictionExportRow {
  model: string;
  task: string;
  split: string;
  format: string;
  example: string;
  label: number | null;
  score: number | null;
  mass: number | null;
  log: string | null;
  sample_id: string | null;
  epoch: number | null;
  group: string | null;
  evaluation: string;
}

const COLUMNS: (keyof PredictionExportRow)[] = [
  "model",
  "task",
  "split",
  "format",
  "example",
  "label",
  "score",
  "mass",
  "log",
  "sample_id",
  "epoch",
  "group",
  "evaluation",
];

export async function exportPredictions(dir: string, out: string): Promise<{ rows: number; evaluations: number }> {
  const kind = extname(out).toLowerCase();
  if (![".csv", ".jsonl", ".parquet"].includes(kind))
    throw new InputError(`-o ${out}: name a .csv, .jsonl or .parquet file`);
  const run = await openRun(dir, { partial: true });
  try {
    const names = new Map(run.plan.train.map((c) => [c.key, c.label]));
    const examples = new Map<string, Map<string, Example>>();
    for (const s of run.train.splits)
      examples.set(
        s.task.id,
        new Map([...s.train, ...s.validation, ...s.test, ...(s.task.pool ?? [])].map((e) => [e.id, e as Example])),
      );
    const rows: PredictionExportRow[] = [];
    let evaluations = 0;
    for (const c of run.plan.evals) {
      if (!run.store.result(c.key)) continue;
      evaluations++;
      for (const p of run.store.predictions(c.key)) {
        const e = examples.get(p.task)?.get(p.example);
        const meta = (e?.meta ?? {}) as Record<string, unknown>;
        const text = (v: unknown) => (v === undefined || v === null ? null : String(v));
        rows.push({
          model: c.model === null ? "untrained" : (names.get(c.model) ?? c.model),
          task: p.task,
          split: c.split,
          format: p.format,
          example: p.example,
          label: p.label < 0 ? null : p.label,
          score: p.score < 0 && c.format === "summary" ? null : p.score,
          mass: typeof p.extra?.mass === "number" ? p.extra.mass : null,
          log: text(meta.log),
          sample_id: text(meta.sample_id),
          epoch: typeof meta.epoch === "number" ? meta.epoch : null,
          group: e?.group ?? null,
          evaluation: c.key,
        });
      }
    }
    const tmp = `${out}.partial`;
    if (kind === ".jsonl") writeFileSync(tmp, rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
    else if (kind === ".csv") writeFileSync(tmp, stringify(rows, { header: true, columns: COLUMNS }));
    else
      writeFileSync(
        tmp,
        Buffer.from(
          parquetWriteBuffer({
            columnData: COLUMNS.map((name) => ({
              name,
              data: rows.map((r) => r[name]),
              type: ["label", "epoch"].includes(name)
                ? "INT32"
                : ["score", "mass"].includes(name)
                  ? "DOUBLE"
                  : "STRING",
            })),
          }),
        ),
      );
    renameSync(tmp, out);
    return { rows: rows.length, evaluations };
  } finally {
    run.store.close();
  }
}
