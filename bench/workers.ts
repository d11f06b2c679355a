/**
 * `npm run bench -- workers`: cells per minute of a tiny spec (the tests' tiny experiment, on the shipped base model,
 * one engine thread per worker) with 1 and 2 `crossmon worker` processes on one throwaway PostgreSQL cluster, from
 * the workers' start to the last one's exit (their start-up included). Then leases: WORKERS (default 3) workers
 * with a 3 s lease on trainings that take longer than that, and the attempts the store counted: no training may be
 * taken twice (`trainings_taken_again` 0). Prints one JSON line. `-- --workers N` sets the second part's count.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { enqueueRun } from "../src/experiments/pg/cells.js";
import { connect } from "../src/experiments/pg/db.js";
import { planRun } from "../src/experiments/runner.js";
import { startPostgres } from "../test/postgres.js";
import { tinySpec } from "../test/experiments/tiny-spec.js";

const db = await startPostgres();
if (typeof db === "string") {
  console.log(JSON.stringify({ skipped: db }));
  process.exit(0);
}
const tmp = mkdtempSync(join(tmpdir(), "crossmon-bench-workers-"));
try {
  const spec = tinySpec("models/crossmon-base");
  const pool = await connect(db.url);
  const tp = performance.now();
  const { plan, fingerprint } = await planRun(spec, () => {});
  // each worker pays this once per run (the world and the tasks built, the plan checked against the store's)
  const planSeconds = (performance.now() - tp) / 1000;
  const cells = plan.train.length + plan.evals.length;
  const out: Record<string, number> = {};
  for (const n of [1, 2]) {
    const name = `bench-${n}`;
    await enqueueRun(pool, name, spec, plan, fingerprint);
    const t0 = performance.now();
    await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            const args = ["--import", "tsx", "src/cli/main.ts", "worker", "--store", db.url, "--run", name];
            const w = spawn(process.execPath, [...args, "--until-empty", "--dir", join(tmp, `w${n}-${i}`)], {
              stdio: "ignore",
            });
            w.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}`))));
          }),
      ),
    );
    out[`workers_${n}_cells_per_min`] = +((cells / (performance.now() - t0)) * 60_000).toFixed(1);
  }

  // trainings longer than the lease: more examples, so that each takes several seconds, under a 3 s lease
  const workers = Number(process.argv[process.argv.indexOf("--workers") + 1]) || 3;
  const long = tinySpec("models/crossmon-base", {
    train: { ...spec.train, examples_per_task: 96 },
    experiments: {
      transfer: {
        sources: { cyber: ["cyber_harm"], chem: ["chem_harm"] },
        eval_tasks: ["agent_dangerous"],
        leave_one_out: false,
      },
    },
  });
  const longPlan = await planRun(long, () => {});
  await enqueueRun(pool, "bench-lease", long, longPlan.plan, longPlan.fingerprint);
  await Promise.all(
    Array.from(
      { length: workers },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const args = ["--import", "tsx", "src/cli/main.ts", "worker", "--store", db.url, "--run", "bench-lease"];
          const w = spawn(process.execPath, [...args, "--until-empty", "--lease", "3", "--dir", join(tmp, `l${i}`)], {
            stdio: "ignore",
          });
          w.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}`))));
        }),
    ),
  );
  const trained = await pool.query<{ attempts: number; seconds: number; status: string }>(
    "SELECT attempts, seconds, status FROM crossmon.cells WHERE run = 'bench-lease' AND kind = 'train'",
  );
  out.lease_workers = workers;
  out.lease_seconds = 3;
  out.trainings = trained.rows.length;
  out.training_seconds_min = +Math.min(...trained.rows.map((r) => r.seconds)).toFixed(1);
  out.trainings_taken_again = trained.rows.filter((r) => r.attempts > 1).length;
  out.trainings_not_done = trained.rows.filter((r) => r.status !== "done").length;
  await pool.end();
  console.log(
    JSON.stringify({
      cells,
      plan_seconds: +planSeconds.toFixed(1),
      ...out,
      speedup: +(out.workers_2_cells_per_min / out.workers_1_cells_per_min).toFixed(2),
    }),
  );
} finally {
  db.stop();
  rmSync(tmp, { recursive: true, force: true });
}
