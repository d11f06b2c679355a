/**
 * `crossmon worker`: takes cells from a PostgreSQL store, runs them here, commits them there. Each run's cells are
 * computed into a local SQLite store (what a cell needs, fetched first: a trained model as its blob, an evaluation's
 * predictions), with the same code as a single-process run; the result, the predictions and the done mark then go to
 * PostgreSQL in one transaction. A lost connection is retried with backoff and never commits half a cell.
 */
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import type { Backend, ModelRef } from "../backends/types.js";
import { modelFingerprint } from "../engine/io/fingerprint.js";
import { HfTokenizer } from "../engine/io/tokenizer.js";
import { withThreads } from "../engine/kernels/index.js";
import { Renderer } from "../formats/render.js";
import { type CellEnv, runEvalCell, runTrainCell } from "./cells.js";
import { blobFolder, putBlob } from "./pg/blobs.js";
import { PgCallCache, layeredCalls } from "./pg/calls.js";
import { type ClaimedCell, claimCell, commitCell, failCell, releaseCell, workLeft } from "./pg/cells.js";
import { holdLease } from "./pg/lease.js";
import { cellPredictions } from "./pg/runs.js";
import type { EvalCell, Plan, TrainCell } from "./plan.js";
import { planRun } from "./runner.js";
import type { ExperimentSpec } from "./spec.js";
import { type PredictionRow, Store } from "./store.js";

export interface WorkerOptions {
  pool: pg.Pool;
  /** where models run, for a run's base model (a backend may need its tokenizer) */
  backendFor: (baseModel: string) => Backend;
  /** the worker's own folder: local stores, trained models, fetched blobs */
  dir: string;
  /** only this run's cells */
  run?: string;
  /** cells at a time in this process (useful with a backend that works elsewhere, such as the PyTorch worker) */
  concurrency?: number;
  /** return once no cell is left to do or running (of `run`, or of every run); otherwise wait for more */
  untilEmpty?: boolean;
  leaseSeconds?: number;
  pollSeconds?: number;
  log?: (line: string) => void;
}

/** Stored trained models name their weights by blob, so that any machine can fetch them. */
interface StoredModel {
  base: string;
  adapter_blob?: string;
  model_blob?: string;
  hosted?: string;
}

const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "57P01", "57P02", "57P03"]);
function isConnectionError(e: unknown): boolean {
  const x = e as { code?: string; message?: string };
  return (
    (x.code !== undefined && (CONNECTION_ERRORS.has(x.code) || x.code.startsWith("08"))) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(x.message ?? "")
  );
}

/** fn again after a lost connection, with backoff (0.5 s doubling to 30 s), for up to about five minutes. */
async function retrying<T>(what: string, fn: () => Promise<T>, log: (l: string) => void): Promise<T> {
  let wait = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConnectionError(e) || attempt >= 14) throw e;
      log(`worker: ${what}: ${(e as Error).message}; retrying in ${(wait / 1000).toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(30_000, wait * 2);
    }
  }
}

interface RunHere {
  env: CellEnv;
  plan: Plan;
}

export async function runWorker(o: WorkerOptions): Promise<{ committed: number; failed: number }> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const lease = o.leaseSeconds ?? 60;
  const poll = (o.pollSeconds ?? 2) * 1000;
  const runs = new Map<string, Promise<RunHere>>();
  const refused = new Map<string, string>();
  let committed = 0;
  let failed = 0;

  const runHere = (name: string): Promise<RunHere> => {
    let r = runs.get(name);
    if (!r) {
      r = openRunHere(o.pool, name, join(o.dir, "runs", encodeURIComponent(name)), o.backendFor, log);
      runs.set(name, r);
    }
    return r;
  };

  const work = async (slot: number) => {
    const id = `${hostname()}:${process.pid}:${slot}`;
    for (;;) {
      const cell = await retrying(
        "claiming a cell",
        () => claimCell(o.pool, id, lease, { run: o.run, skipRuns: [...refused.keys()] }),
        log,
      );
      if (!cell) {
        const left = () => workLeft(o.pool, o.run, [...refused.keys()]);
        if (o.untilEmpty && !(await retrying("looking for work", left, log))) return;
        await new Promise((r) => setTimeout(r, poll));
        continue;
      }
      const held = holdLease(o.pool, cell, id, lease);
      try {
        const here = await runHere(cell.run).catch((e: Error) => e);
        if (here instanceof Error) {
          // this machine cannot serve the run (another base model, other task files): the cell goes back untried,
          // its attempt not counted, and the run's cells are left to other workers
          refused.set(cell.run, here.message);
          log(`worker: refusing run ${cell.run}: ${here.message}`);
          await retrying("handing a cell back", () => releaseCell(o.pool, cell, id), log);
          continue;
        }
        const out = await runCell(o.pool, here, cell, join(o.dir, "blobs"));
        const ok = await retrying(
          "committing a cell",
          () => commitCell(o.pool, cell, out.result, out.predictions, out.seconds),
          log,
        );
        if (ok) committed++;
        log(`worker ${id}: ${cell.kind} ${cell.key} ${ok ? "committed" : "already done elsewhere"}`);
      } catch (e) {
        if (isConnectionError(e)) {
          // the store's connection dropped (a restart, a terminated backend) while the cell ran: not the cell's
          // fault, so it goes back untried, its attempt not counted, and is taken again once the store answers
          log(
            `worker ${id}: ${cell.kind} ${cell.key}: lost the store's connection (${(e as Error).message}); retrying`,
          );
          await retrying("handing a cell back", () => releaseCell(o.pool, cell, id), log).catch(() => {});
          continue;
        }
        failed++;
        log(`worker ${id}: ${cell.kind} ${cell.key} failed: ${(e as Error).message}`);
        await retrying("recording a failure", () => failCell(o.pool, cell, id, (e as Error).message), log).catch(
          () => {},
        );
      } finally {
        await held.release();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 1) }, (_, i) => work(i)));
  for (const r of runs.values()) (await r.catch(() => null))?.env.store.close();
  return { committed, failed };
}

async function openRunHere(
  pool: pg.Pool,
  name: string,
  dir: string,
  backendFor: (baseModel: string) => Backend,
  log: (l: string) => void,
): Promise<RunHere> {
  const r = await pool.query<{ spec: string; plan: string; fingerprint: string | null }>(
    "SELECT spec, plan, fingerprint FROM crossmon.runs WHERE name = $1",
    [name],
  );
  if (!r.rows.length) throw new Error(`no run "${name}" in the store`);
  const spec = JSON.parse(r.rows[0].spec) as ExperimentSpec;
  const fingerprint = r.rows[0].fingerprint;
  const mine = modelFingerprint(spec.base_model);
  if (mine !== fingerprint)
    throw new Error(
      `this machine's ${spec.base_model} differs from the run's (fingerprint ${mine ?? "none"}, the run's ` +
        `${fingerprint ?? "none"})`,
    );
  const planned = await planRun(spec, () => {});
  if (JSON.stringify(planned.plan) !== r.rows[0].plan)
    throw new Error("this machine plans the run differently (another crossmon version, or other task files)");
  mkdirSync(dir, { recursive: true });
  const store = new Store(join(dir, "store.sqlite"));
  const renderer = new Renderer(HfTokenizer.load(spec.base_model), spec.train.hyper.max_tokens);
  const backend = backendFor(spec.base_model);
  const calls = layeredCalls(store, new PgCallCache(pool, log));
  return {
    env: { spec, dir, train: planned.train, store, backend, renderer, fingerprint, calls, log },
    plan: planned.plan,
  };
}

/** A stored model reference made local: its blob fetched and unpacked here. */
async function localModel(pool: pg.Pool, m: StoredModel, blobs: string): Promise<ModelRef> {
  if (m.adapter_blob) return { base: m.base, adapter: await blobFolder(pool, m.adapter_blob, blobs) };
  if (m.model_blob) return { base: await blobFolder(pool, m.model_blob, blobs) };
  return { base: m.base, hosted: m.hosted };
}

/** Copies the cells this one needs (results and predictions) from PostgreSQL into the local store. */
async function fetchNeeds(pool: pg.Pool, here: RunHere, cell: ClaimedCell, blobs: string): Promise<void> {
  const store = here.env.store;
  const r = await pool.query<{ key: string; kind: string; spec: string; result: unknown; seconds: number }>(
    `SELECT d.key, d.kind, d.spec, d.result, d.seconds FROM crossmon.cells c JOIN crossmon.cells d
       ON d.run = c.run AND d.key = ANY(c.needs) WHERE c.run = $1 AND c.key = $2 AND d.status = 'done'`,
    [cell.run, cell.key],
  );
  for (const d of r.rows) {
    if (store.result(d.key)) continue;
    const result = d.kind === "train" ? await localModel(pool, d.result as StoredModel, blobs) : d.result;
    store.start(d.key, d.kind, JSON.parse(d.spec));
    store.finish(d.key, result, await cellPredictions(pool, cell.run, d.key), d.seconds);
  }
}

async function runCell(
  pool: pg.Pool,
  here: RunHere,
  cell: ClaimedCell,
  blobs: string,
): Promise<{ result: unknown; predictions: PredictionRow[]; seconds: number }> {
  await fetchNeeds(pool, here, cell, blobs);
  const { env } = here;
  // the spec's thread count, as a single-process run uses it (workers sharing a machine each take their share)
  const seconds = await withThreads(env.spec.train.hyper.threads, () =>
    cell.kind === "train" ? runTrainCell(env, cell.cell as TrainCell) : runEvalCell(env, cell.cell as EvalCell),
  );
  const result = env.store.result<unknown>(cell.key);
  if (cell.kind !== "train") return { result, predictions: env.store.predictions(cell.key), seconds };
  // the trained weights go to the store as a blob, so that any worker can evaluate them
  const ref = result as ModelRef;
  const stored: StoredModel = ref.adapter
    ? { base: ref.base, adapter_blob: await putBlob(pool, ref.adapter) }
    : ref.hosted
      ? { base: ref.base, hosted: ref.hosted }
      : { base: env.spec.base_model, model_blob: await putBlob(pool, ref.base) };
  return { result: stored, predictions: [], seconds };
}
