/**
 * `npm run bench -- workers`: cells per minute of a tiny spec (the tests' tiny experiment, on the shipped base model,
 * one engine thread per worker) with 1 and 2 `crossmon worker` processes on one throwaway PostgreSQL cluster, from
 * the workers' start to the last one's exit (their start-up included). Prints one JSON line.
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
