/**
 * A run's cells as jobs in PostgreSQL. A worker claims a cell whose needs are done (SELECT … FOR UPDATE SKIP LOCKED,
 * so two workers never take the same one), holds it by a lease that its heartbeats extend, and commits the cell's
 * result, predictions and done mark in one transaction. A lease that runs out (its worker killed) gives the cell to
 * the next worker, from scratch; the third failure of a cell marks it failed with its error, and the cells that need
 * it with the reason, while the rest of the run goes on.
 */
import type pg from "pg";
import type { EvalCell, Plan, TrainCell } from "../plan.js";
import type { ExperimentSpec } from "../spec.js";
import type { PredictionRow } from "../store.js";
import { cellNeeds } from "../cells.js";
import { inTransaction } from "./db.js";

export const MAX_ATTEMPTS = 3;

export interface ClaimedCell {
  run: string;
  key: string;
  kind: "train" | "eval";
  cell: TrainCell | EvalCell;
  attempts: number;
}

/**
 * Registers a run and its cells (again: a no-op for what is done or under way, so `run` may be repeated). Cells that
 * failed are queued again with their attempts cleared: running the run again is how a user retries them. Returns how
 * many were.
 */
export async function enqueueRun(
  pool: pg.Pool,
  name: string,
  spec: ExperimentSpec,
  plan: Plan,
  fingerprint: string | null,
): Promise<{ retried: number }> {
  return inTransaction(pool, async (c) => {
    const had = await c.query<{ plan: string }>("SELECT plan FROM crossmon.runs WHERE name = $1 FOR UPDATE", [name]);
    if (had.rows.length && had.rows[0].plan !== JSON.stringify(plan))
      throw new Error(`the store already holds a run "${name}" with another plan: name this one otherwise (-o)`);
    await c.query(
      "INSERT INTO crossmon.runs (name, spec, plan, fingerprint) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [name, JSON.stringify(spec), JSON.stringify(plan), fingerprint],
    );
    // workers take cells in this order where their needs allow: trainings first, then evaluations grouped by model,
    // as a single-process run orders them, so that a worker loads each model once for a stretch of cells
    const byModel = [...plan.evals].sort((a, b) => (a.model ?? "").localeCompare(b.model ?? ""));
    const cells = [
      ...plan.train.map((x) => ({ kind: "train", cell: x as TrainCell | EvalCell })),
      ...byModel.map((x) => ({ kind: "eval", cell: x as TrainCell | EvalCell })),
    ];
    await c.query(
      `INSERT INTO crossmon.cells (run, key, ord, kind, spec, needs)
       SELECT $1, k, o, kd, s, ARRAY(SELECT jsonb_array_elements_text(n::jsonb))
       FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::text[]) AS t(k, o, kd, s, n)
       ON CONFLICT DO NOTHING`,
      [
        name,
        cells.map((x) => x.cell.key),
        cells.map((_, i) => i),
        cells.map((x) => x.kind),
        cells.map((x) => JSON.stringify(x.cell)),
        cells.map((x) => JSON.stringify(cellNeeds(x.cell))),
      ],
    );
    const retried = await c.query(
      `UPDATE crossmon.cells SET status = 'queued', attempts = 0, error = NULL, worker = NULL, lease_until = NULL
       WHERE run = $1 AND status = 'failed'`,
      [name],
    );
    return { retried: retried.rowCount ?? 0 };
  });
}

/** Cells whose lease ran out too often, and cells that need a failed one, are marked failed. */
async function settleFailures(c: pg.PoolClient | pg.Pool): Promise<void> {
  await c.query(
    `UPDATE crossmon.cells SET status = 'failed', lease_until = NULL,
       error = coalesce(error || '; ', '') || 'its worker stopped answering (lease ran out) on attempt ' || attempts
     WHERE status = 'running' AND lease_until < now() AND attempts >= $1`,
    [MAX_ATTEMPTS],
  );
  // a chain of needs settles one step per claim; each step is cheap
  await c.query(
    `UPDATE crossmon.cells c SET status = 'failed', error = 'needs cell ' || d.key || ', which failed'
     FROM crossmon.cells d
     WHERE c.status = 'queued' AND d.run = c.run AND d.key = ANY(c.needs) AND d.status = 'failed'`,
  );
}

/** Takes the next cell this worker can run, or null when none is ready. */
export async function claimCell(
  pool: pg.Pool,
  worker: string,
  leaseSeconds: number,
  o: { run?: string; skipRuns?: string[] } = {},
): Promise<ClaimedCell | null> {
  return inTransaction(pool, async (c) => {
    await settleFailures(c);
    const r = await c.query<{ run: string; key: string; kind: "train" | "eval"; spec: string; attempts: number }>(
      `WITH next AS (
         SELECT c.run, c.key FROM crossmon.cells c
         WHERE (c.status = 'queued' OR (c.status = 'running' AND c.lease_until < now()))
           AND ($1::text IS NULL OR c.run = $1) AND NOT (c.run = ANY($2::text[]))
           AND NOT EXISTS (SELECT 1 FROM crossmon.cells d
                           WHERE d.run = c.run AND d.key = ANY(c.needs) AND d.status <> 'done')
         ORDER BY c.run, c.ord LIMIT 1 FOR UPDATE SKIP LOCKED)
       UPDATE crossmon.cells c SET status = 'running', worker = $3, attempts = c.attempts + 1, started = now(),
         lease_until = now() + make_interval(secs => $4)
       FROM next WHERE c.run = next.run AND c.key = next.key
       RETURNING c.run, c.key, c.kind, c.spec, c.attempts`,
      [o.run ?? null, o.skipRuns ?? [], worker, leaseSeconds],
    );
    const row = r.rows[0];
    return row
      ? { run: row.run, key: row.key, kind: row.kind, cell: JSON.parse(row.spec), attempts: row.attempts }
      : null;
  });
}

/**
 * The cell's result, predictions and done mark in one transaction. A cell another worker finished first is left as
 * it is (its predictions are the same: cells are deterministic), so every prediction is stored once.
 */
export async function commitCell(
  pool: pg.Pool,
  cell: ClaimedCell,
  result: unknown,
  predictions: PredictionRow[],
  seconds: number,
): Promise<boolean> {
  return inTransaction(pool, async (c) => {
    const r = await c.query<{ status: string }>(
      "SELECT status FROM crossmon.cells WHERE run = $1 AND key = $2 FOR UPDATE",
      [cell.run, cell.key],
    );
    if (!r.rows.length || r.rows[0].status === "done") return false;
    await c.query("DELETE FROM crossmon.predictions WHERE run = $1 AND cell = $2", [cell.run, cell.key]);
    const p = predictions;
    await c.query(
      `INSERT INTO crossmon.predictions (run, cell, ord, task, example, format, label, score, extra)
       SELECT $1, $2, o, t, e, f, l, s, x::jsonb
       FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::float8[], $9::text[])
         AS u(o, t, e, f, l, s, x)`,
      [
        cell.run,
        cell.key,
        p.map((_, i) => i),
        p.map((x) => x.task),
        p.map((x) => x.example),
        p.map((x) => x.format),
        p.map((x) => x.label),
        p.map((x) => x.score),
        p.map((x) => (x.extra ? JSON.stringify(x.extra) : null)),
      ],
    );
    await c.query(
      `UPDATE crossmon.cells SET status = 'done', result = $3, seconds = $4, finished = now(), lease_until = NULL,
         error = NULL WHERE run = $1 AND key = $2`,
      [cell.run, cell.key, JSON.stringify(result), seconds],
    );
    // a cell marked failed (its lease ran out on the last attempt) whose work then arrives is done after all: the
    // cells that were failed for needing it, and those that needed them, are queued again
    if (r.rows[0].status === "failed")
      await c.query(
        `WITH RECURSIVE blocked(key) AS (
           SELECT key FROM crossmon.cells WHERE run = $1 AND status = 'failed' AND $2 = ANY(needs)
             AND error LIKE 'needs cell %'
           UNION
           SELECT c.key FROM crossmon.cells c JOIN blocked b ON b.key = ANY(c.needs)
           WHERE c.run = $1 AND c.status = 'failed' AND c.error LIKE 'needs cell %')
         UPDATE crossmon.cells SET status = 'queued', error = NULL, attempts = 0, worker = NULL
         WHERE run = $1 AND key IN (SELECT key FROM blocked)`,
        [cell.run, cell.key],
      );
    return true;
  });
}

/** A cell that threw: back in the queue, or failed with its error on the last attempt. */
export async function failCell(pool: pg.Pool, cell: ClaimedCell, worker: string, error: string): Promise<void> {
  await pool.query(
    `UPDATE crossmon.cells SET status = CASE WHEN attempts >= $4 THEN 'failed' ELSE 'queued' END,
       error = $5, lease_until = NULL
     WHERE run = $1 AND key = $2 AND worker = $3 AND status = 'running'`,
    [cell.run, cell.key, worker, MAX_ATTEMPTS, error.slice(0, 2000)],
  );
}

/** A cell handed back untried (this machine cannot serve its run): queued again, the attempt not counted. */
export async function releaseCell(pool: pg.Pool, cell: ClaimedCell, worker: string): Promise<void> {
  await pool.query(
    `UPDATE crossmon.cells SET status = 'queued', attempts = attempts - 1, lease_until = NULL, worker = NULL
     WHERE run = $1 AND key = $2 AND worker = $3 AND status = 'running'`,
    [cell.run, cell.key, worker],
  );
}

/** Whether any cell (of one run, or of every run but those skipped) is still queued or running. */
export async function workLeft(pool: pg.Pool, run?: string, skipRuns: string[] = []): Promise<boolean> {
  await settleFailures(pool);
  const r = await pool.query(
    `SELECT 1 FROM crossmon.cells WHERE status IN ('queued', 'running') AND ($1::text IS NULL OR run = $1)
       AND NOT (run = ANY($2::text[])) LIMIT 1`,
    [run ?? null, skipRuns],
  );
  return r.rows.length > 0;
}
