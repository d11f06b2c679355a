/** `crossmon worker`, and `run` / `quickstart` / `study` / `report` / `status` on a PostgreSQL store. */
import type { Command } from "commander";
import { rmSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join, resolve } from "node:path";
import { BACKEND_KINDS, chooseBackend } from "../../backends/choose.js";
import { crossmonCacheDir } from "../../core/cache-dir.js";
import { InputError } from "../../core/errors.js";
import { enqueueRun } from "../../experiments/pg/cells.js";
import { connect, isPostgresUrl, redactUrl } from "../../experiments/pg/db.js";
import { cellStatuses, pullRun, runNames } from "../../experiments/pg/runs.js";
import { planRun } from "../../experiments/runner.js";
import type { ExperimentSpec } from "../../experiments/spec.js";
import { runWorker } from "../../experiments/worker.js";
import { formatDuration } from "../../core/progress.js";
import { action, numberOption } from "../output.js";

export function storeUrl(url: string): string {
  if (!isPostgresUrl(url)) throw new InputError(`--store ${url}: use postgres://USER[:PASS]@HOST:PORT/DB`);
  return url;
}

/** A run's name in the store: its folder's name. */
export const runName = (dir: string) => basename(resolve(dir));

/**
 * Plans the run into the store; unless noWork, works its cells here until none is left (other workers may share
 * them), then copies the finished run into its folder for the report. Returns false with noWork.
 */
export async function runOnStore(
  spec: ExperimentSpec,
  dir: string,
  url: string,
  o: { noWork?: boolean; backend?: string; quiet?: boolean },
): Promise<{ failed: string[] } | null> {
  const log = o.quiet ? () => {} : (l: string) => process.stderr.write(`${l}\n`);
  const pool = await connect(url);
  try {
    const name = runName(dir);
    const { plan, fingerprint } = await planRun(spec, log);
    const { retried } = await enqueueRun(pool, name, spec, plan, fingerprint);
    const again = retried ? ` (${retried} that had failed queued again)` : "";
    console.log(`run ${name}: ${plan.train.length + plan.evals.length} cells in ${redactUrl(url)}${again}`);
    if (o.noWork) return null;
    const { backend, close } = chooseBackend(o.backend ?? "local", spec.base_model);
    try {
      await runWorker({ pool, backendFor: () => backend, dir: join(dir, "worker"), run: name, untilEmpty: true, log });
    } finally {
      close();
    }
    const { failed } = await pullRun(pool, name, dir);
    return { failed };
  } finally {
    await pool.end();
  }
}

/** A worker's own folder when none is named: under crossmon's cache folder, by host and process. */
export function defaultWorkerDir(): string {
  return join(crossmonCacheDir(), "worker", `${hostname()}-${process.pid}`);
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("take cells from a PostgreSQL store, run them here, commit them there (any number of machines)")
    .requiredOption("--store <url>", "postgres://USER[:PASS]@HOST:PORT/DB (or the password in PGPASSWORD)")
    .option("--backend <kind>", `where models run: ${BACKEND_KINDS.join(" or ")}; default local`)
    .option("--concurrency <n>", "cells at a time in this process", "1")
    .option("--until-empty", "exit 0 once no cell of any run is left to do or running", false)
    .option("--run <name>", "only this run's cells")
    .option("--lease <seconds>", "how long a cell stays this worker's without a heartbeat", "60")
    .option(
      "--dir <dir>",
      "local folder for this worker's stores, models and fetched blobs (default: a folder of this process's own " +
        "under ~/.cache/crossmon/worker, removed when it exits)",
    )
    .action(
      action(
        async (o: {
          store: string;
          backend?: string;
          concurrency: string;
          untilEmpty: boolean;
          run?: string;
          lease: string;
          dir?: string;
        }) => {
          const pool = await connect(storeUrl(o.store));
          const t0 = Date.now();
          try {
            // a folder per process unless one is named: two workers on a machine never share a training's folder
            const base = o.dir ?? defaultWorkerDir();
            // one backend per base model (the PyTorch worker decodes with its tokenizer), closed at the end
            const opened = new Map<string, ReturnType<typeof chooseBackend>>();
            const backendFor = (base: string) => {
              let b = opened.get(base);
              if (!b) {
                b = chooseBackend(o.backend ?? "local", base);
                opened.set(base, b);
              }
              return b.backend;
            };
            const close = () => {
              for (const b of opened.values()) b.close();
            };
            try {
              const r = await runWorker({
                pool,
                backendFor,
                dir: base,
                run: o.run,
                untilEmpty: o.untilEmpty,
                concurrency: numberOption(o.concurrency, "--concurrency", { integer: true, min: 1 }),
                leaseSeconds: numberOption(o.lease, "--lease", { min: 3 }),
              });
              console.log(
                `worker: ${r.committed} cells committed, ${r.failed} failed here ` +
                  `(${formatDuration((Date.now() - t0) / 1000)})`,
              );
            } finally {
              close();
              if (!o.dir) rmSync(base, { recursive: true, force: true });
            }
          } finally {
            await pool.end();
          }
        },
      ),
    );
}

/** `crossmon report DIR --store URL`: the run copied from the store into DIR first. */
export async function pullForReport(dir: string, url: string): Promise<string[]> {
  const pool = await connect(storeUrl(url));
  try {
    return (await pullRun(pool, runName(dir), dir)).failed;
  } finally {
    await pool.end();
  }
}

/** `crossmon status --store URL [RUN...]`: each run's cells by state, the running ones with worker and time. */
export async function storeStatus(url: string, names: string[], json: boolean): Promise<string> {
  const pool = await connect(storeUrl(url));
  try {
    const runs = names.length ? names.map(runName) : await runNames(pool);
    const out = [];
    for (const run of runs) {
      const cells = await cellStatuses(pool, run);
      const count = (s: string) => cells.filter((c) => c.status === s).length;
      out.push({
        run,
        cells: cells.length,
        done: count("done"),
        running: cells
          .filter((c) => c.status === "running")
          .map((c) => ({ key: c.key, worker: c.worker, seconds: Math.round(c.running_seconds ?? 0) })),
        queued: count("queued"),
        failed: cells.filter((c) => c.status === "failed").map((c) => ({ key: c.key, error: c.error })),
      });
    }
    if (json) return JSON.stringify(out, null, 2);
    return out
      .map((r) =>
        [
          `${r.run}: ${r.done} of ${r.cells} cells done, ${r.running.length} running, ${r.queued} queued, ` +
            `${r.failed.length} failed`,
          ...r.running.map((c) => `  running ${c.key} on ${c.worker} for ${formatDuration(c.seconds)}`),
          ...r.failed.map((c) => `  failed ${c.key}: ${c.error}`),
        ].join("\n"),
      )
      .join("\n");
  } finally {
    await pool.end();
  }
}
