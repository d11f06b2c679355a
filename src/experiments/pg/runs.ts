/**
 * A PostgreSQL run read back: its status from any machine, and a copy into a run folder's SQLite store, so that the
 * report and the viewer read a run from PostgreSQL exactly as they read one run in a single process.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import YAML from "yaml";
import { InputError } from "../../core/errors.js";
import type { Plan } from "../plan.js";
import type { ExperimentSpec } from "../spec.js";
import { type PredictionRow, Store } from "../store.js";

export interface PgCellStatus {
  run: string;
  key: string;
  kind: string;
  status: string;
  worker: string | null;
  running_seconds: number | null;
  attempts: number;
  error: string | null;
}

export async function cellStatuses(pool: pg.Pool, run?: string): Promise<PgCellStatus[]> {
  const r = await pool.query<PgCellStatus>(
    `SELECT run, key, kind, status, worker, attempts, error,
       CASE WHEN status = 'running' THEN extract(epoch FROM now() - started)::float8 END AS running_seconds
     FROM crossmon.cells WHERE $1::text IS NULL OR run = $1 ORDER BY run, ord`,
    [run ?? null],
  );
  return r.rows;
}

/** A cell's predictions, in the order the cell wrote them. */
export async function cellPredictions(pool: pg.Pool, run: string, cell: string): Promise<PredictionRow[]> {
  const r = await pool.query<PredictionRow & { extra: Record<string, unknown> | null }>(
    `SELECT task, example, format, label, score, extra FROM crossmon.predictions WHERE run = $1 AND cell = $2
     ORDER BY ord`,
    [run, cell],
  );
  return r.rows.map((p) => ({ ...p, extra: p.extra ?? undefined }));
}

export async function runNames(pool: pg.Pool): Promise<string[]> {
  return (await pool.query<{ name: string }>("SELECT name FROM crossmon.runs ORDER BY created")).rows.map(
    (r) => r.name,
  );
}

/** Writes the run's finished cells into DIR/store.sqlite (replacing it whole) and its spec beside it. */
export async function pullRun(pool: pg.Pool, name: string, dir: string): Promise<{ done: number; failed: string[] }> {
  const run = await pool.query<{ spec: string; plan: string; fingerprint: string | null }>(
    "SELECT spec, plan, fingerprint FROM crossmon.runs WHERE name = $1",
    [name],
  );
  if (!run.rows.length) throw new InputError(`the store holds no run "${name}"`, "--store");
  const spec = JSON.parse(run.rows[0].spec) as ExperimentSpec;
  const plan = JSON.parse(run.rows[0].plan) as Plan;
  const fingerprint = run.rows[0].fingerprint;
  const cells = await pool.query<{
    key: string;
    kind: string;
    spec: unknown;
    status: string;
    result: unknown;
    seconds: number;
    error: string | null;
  }>("SELECT key, kind, spec, status, result, seconds, error FROM crossmon.cells WHERE run = $1 ORDER BY ord", [name]);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "store.sqlite");
  const tmp = `${file}.pull-${process.pid}`;
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  const store = new Store(tmp);
  let done = 0;
  const failed: string[] = [];
  try {
    store.setMeta("spec", spec);
    store.setMeta("plan", plan);
    store.setMeta("base_fingerprint", fingerprint);
    for (const c of cells.rows) {
      if (c.status === "failed") failed.push(`${c.key} (${c.kind}): ${c.error ?? "failed"}`);
      if (c.status !== "done") continue;
      store.start(c.key, c.kind, JSON.parse(c.spec as string));
      store.finish(c.key, c.result, await cellPredictions(pool, name, c.key), c.seconds);
      done++;
    }
    store.setMeta("failed_cells", failed);
  } finally {
    store.close();
  }
  for (const suffix of ["-wal", "-shm"]) if (existsSync(file + suffix)) rmSync(file + suffix);
  renameSync(tmp, file);
  writeFileSync(join(dir, "experiment.yaml"), YAML.stringify(spec));
  return { done, failed };
}
