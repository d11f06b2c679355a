/**
 * Other layouts' rows made into crossmon's: a manifest's column map (text_column, label_column, id_column,
 * group_column, positive,
 * negative) applied to each row, and the data files of a folder chosen by split (a Hugging Face dataset keeps
 * `plain_text/train-00000-of-00001.parquet`, `data/test-00000-of-00002.parquet` or `default/train/0000.parquet`).
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { ProblemList } from "../problems.js";
import type { ColumnMap } from "../schema.js";
import { formatOf, readRows, type RawRow } from "./rows.js";

function same(v: unknown, want: string | number | boolean): boolean {
  if (typeof v === "bigint") return same(Number(v), want);
  if (typeof want === "number") return v === want || (typeof v === "string" && v.trim() !== "" && Number(v) === want);
  if (typeof want === "boolean") return v === want || String(v).toLowerCase() === String(want);
  return String(v) === want;
}

function hasMapping(c: ColumnMap): boolean {
  return [c.text_column, c.label_column, c.id_column, c.group_column, c.positive].some((x) => x !== undefined);
}

/** The row with crossmon's fields (id, text, label) taken from the mapped columns; null when its label matches none. */
export function mapColumns(r: RawRow, c: ColumnMap, file: string, problems: ProblemList): RawRow | null {
  if (!hasMapping(c)) return r;
  const d = r.data;
  const out: Record<string, unknown> = { ...d };
  if (c.id_column) out.id = d[c.id_column];
  if (c.group_column) out.group = d[c.group_column];
  if (c.text_column) {
    out.text = d[c.text_column];
    if (out.text === undefined) {
      problems.add({ file, line: r.line, unit: r.unit, field: c.text_column, message: "missing (text_column)" });
      return null;
    }
  }
  const labelColumn = c.label_column ?? "label";
  const v = d[labelColumn];
  if (c.positive !== undefined && v !== undefined && v !== null && v !== "") {
    if (same(v, c.positive)) out.label = true;
    else if (c.negative === undefined || same(v, c.negative)) out.label = false;
    else {
      problems.add({
        file,
        line: r.line,
        unit: r.unit,
        field: labelColumn,
        message:
          `${JSON.stringify(v)} is neither positive (${JSON.stringify(c.positive)}) nor negative ` +
          `(${JSON.stringify(c.negative)}); choose the splits to read with splits:`,
      });
      return null;
    }
  } else out.label = v;
  return { ...r, data: out };
}

/** The split a data file belongs to, by its folder or the start of its name (`train-00000-of-00001.parquet`). */
export function splitOf(root: string, file: string): string[] {
  const parts = relative(root, file).split(sep);
  const name = parts.pop() ?? "";
  return [...parts, name.split(/[-.]/)[0]];
}

/** The data files under a folder (all depths, sorted), only those of the given splits when splits are named. */
export function dataFilesUnder(root: string, splits?: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith(".")) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (formatOf(name) && (!splits || splitOf(root, p).some((s) => splits.includes(s)))) out.push(p);
    }
  };
  walk(root);
  return out;
}

/** The rows of one or several files as one stream, the column map applied. */
export async function mappedRows(files: string[], c: ColumnMap, problems: ProblemList): Promise<Iterable<RawRow>> {
  const sources: [string, Iterable<RawRow>][] = [];
  for (const f of files) sources.push([f, await readRows(f, problems)]);
  return (function* () {
    for (const [f, rows] of sources)
      for (const r of rows) {
        const m = mapColumns(r, c, f, problems);
        // a row says its file only when there are several (their ids and problems then name it)
        if (m) yield files.length > 1 ? { ...m, file: f } : { ...m, file: undefined };
      }
  })();
}
