/** Reading raw rows, with their line (or row) numbers, from JSONL, CSV and Parquet files. */
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { parse } from "csv-parse/sync";
import { parquetReadObjects } from "hyparquet";
import type { ProblemList } from "../problems.js";

export interface RawRow {
  /** 1-based line of a JSONL/CSV file, or 1-based row of a Parquet file */
  line: number;
  unit: "line" | "row";
  data: Record<string, unknown>;
  /** the file it came from, when rows of several files are read as one task */
  file?: string;
}

export type DataFormat = "jsonl" | "csv" | "parquet";

export function formatOf(file: string): DataFormat | null {
  const f = file.toLowerCase();
  if (f.endsWith(".jsonl") || f.endsWith(".ndjson")) return "jsonl";
  if (f.endsWith(".csv")) return "csv";
  if (f.endsWith(".parquet")) return "parquet";
  return null;
}

/** The lines of a file, read 4 MiB at a time: a file of any size, never held whole in memory. */
export function* fileLines(file: string): Generator<string> {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(4 << 20);
  const decoder = new StringDecoder("utf8"); // keeps a character split between two reads whole
  let rest = "";
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const lines = (rest + decoder.write(buf.subarray(0, n))).split("\n");
      rest = lines.pop() ?? "";
      yield* lines;
    }
    rest += decoder.end();
    if (rest) yield rest;
  } finally {
    closeSync(fd);
  }
}

/** The rows of a JSON Lines file, one at a time as they are read. */
export function* readJsonlRows(file: string, problems: ProblemList): Generator<RawRow> {
  let i = 0;
  for (const raw of fileLines(file)) {
    i++;
    const text = raw.trim();
    if (!text) continue;
    try {
      const data = JSON.parse(text);
      if (!data || typeof data !== "object" || Array.isArray(data))
        problems.add({ file, line: i, message: "each line must be a JSON object" });
      else yield { line: i, unit: "line", data };
    } catch (e) {
      problems.add({ file, line: i, message: `malformed JSON: ${(e as Error).message}` });
    }
  }
}

export function readCsvRows(file: string, problems: ProblemList): RawRow[] {
  try {
    const records = parse(readFileSync(file, "utf8"), {
      columns: true,
      skip_empty_lines: true,
      info: true,
      bom: true,
      relax_column_count: false,
    }) as {
      record: Record<string, string>;
      info: { lines: number };
    }[];
    return records.map((r) => ({ line: r.info.lines, unit: "line" as const, data: r.record }));
  } catch (e) {
    const err = e as Error & { lines?: number };
    problems.add({ file, line: err.lines, message: `unreadable CSV: ${err.message}` });
    return [];
  }
}

export async function readParquetRows(file: string, problems: ProblemList): Promise<RawRow[]> {
  try {
    const buf = readFileSync(file);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const rows = (await parquetReadObjects({ file: ab })) as Record<string, unknown>[];
    return rows.map((data, i) => ({ line: i + 1, unit: "row" as const, data: normaliseParquet(data) }));
  } catch (e) {
    problems.add({ file, message: `unreadable Parquet file: ${(e as Error).message}` });
    return [];
  }
}

// Parquet integers may come back as BigInt; labels and ids are compared as plain values.
function normaliseParquet(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === "bigint" ? Number(v) : v;
  return out;
}

/** A data file's rows (JSON Lines as they are read; CSV and Parquet whole). A folder or an empty file is a problem. */
export async function readRows(file: string, problems: ProblemList): Promise<Iterable<RawRow>> {
  const st = statSync(file);
  if (st.isDirectory()) {
    problems.add({ file, message: "is a folder, not a data file (named like one)" });
    return [];
  }
  switch (formatOf(file)) {
    case "jsonl":
      return readJsonlRows(file, problems);
    case "csv":
      return readCsvRows(file, problems);
    case "parquet":
      return readParquetRows(file, problems);
    default:
      problems.add({ file, message: "unknown file type (use .jsonl, .csv or .parquet)" });
      return [];
  }
}
