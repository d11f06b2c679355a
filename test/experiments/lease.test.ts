/**
 * A cell's lease on PostgreSQL holds while the worker's main thread is blocked (as a training blocks it): heartbeats
 * come from a thread of their own. And the store stays consistent when a cell's work arrives after it was failed, and
 * when a run is enqueued again after cells failed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { claimCell, commitCell, enqueueRun, failCell } from "../../src/experiments/pg/cells.js";
import { connect } from "../../src/experiments/pg/db.js";
import { holdLease } from "../../src/experiments/pg/lease.js";
import { planExperiment } from "../../src/experiments/plan.js";
import { startPostgres } from "../postgres.js";
import { toyBase } from "../train/toy-base.js";
import { tinySpec } from "./tiny-spec.js";

/** Blocks this thread's event loop for ms, as a synchronous training step does. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const spec = tinySpec(toyBase(), {
  experiments: { format_transfer: { source: ["cyber_harm"], eval_tasks: ["agent_dangerous"] } },
});
const plan = planExperiment(spec);

test("on PostgreSQL: a lease of 3 s holds through 8 s of a blocked event loop, and is let go after", async (t) => {
  const db = await startPostgres();
  if (typeof db === "string") return t.skip(db);
  const pool = await connect(db.url);
  try {
    await enqueueRun(pool, "lease", spec, plan, null);
    const cell = await claimCell(pool, "w1", 3, { run: "lease" });
    assert.ok(cell && cell.kind === "train");
    const held = holdLease(pool, cell, "w1", 3);
    const t0 = Date.now();
    blockFor(8000);
    const until = await pool.query<{ left: number }>(
      "SELECT extract(epoch FROM lease_until - now())::float8 AS left FROM crossmon.cells WHERE run = 'lease' AND key = $1",
      [cell.key],
    );
    assert.ok(until.rows[0].left > 0, `the lease ran out ${-until.rows[0].left} s ago while the thread was blocked`);
    // another worker takes other cells, never this one: the training is not run twice
    for (
      let c = await claimCell(pool, "w2", 3, { run: "lease" });
      c;
      c = await claimCell(pool, "w2", 3, { run: "lease" })
    )
      assert.notEqual(c.key, cell.key);
    await new Promise((r) => setTimeout(r, 50)); // the thread's last messages arrive
    assert.ok(held.lastHeld() > t0 + 4000, "heartbeats found the cell this worker's during the block");
    assert.equal(held.lost(), false);
    await held.release();
    const leftAfter = async () =>
      (
        await pool.query<{ left: number }>(
          "SELECT extract(epoch FROM lease_until - now())::float8 AS left FROM crossmon.cells WHERE key = $1",
          [cell.key],
        )
      ).rows[0].left;
    await new Promise((r) => setTimeout(r, 4000));
    assert.ok((await leftAfter()) < 0, "released: no more heartbeats");
    const again = await claimCell(pool, "w2", 3, { run: "lease" });
    assert.equal(again?.key, cell.key, "once let go and lapsed, the cell is another worker's");
  } finally {
    await pool.end();
    db.stop();
  }
});

test("on PostgreSQL: work that arrives after its cell was failed is done after all, and the cells failed for needing it are queued again; enqueuing the run again retries failed cells", async (t) => {
  const db = await startPostgres();
  if (typeof db === "string") return t.skip(db);
  const pool = await connect(db.url);
  try {
    await enqueueRun(pool, "late", spec, plan, null);
    const cell = await claimCell(pool, "w1", 60, { run: "late" });
    assert.ok(cell && cell.kind === "train");
    // its last attempt fails: the cell and (at the next claim) every evaluation of its model are failed
    await pool.query("UPDATE crossmon.cells SET attempts = 3 WHERE run = 'late' AND key = $1", [cell.key]);
    await failCell(pool, cell, "w1", "lease ran out");
    assert.equal(await claimCell(pool, "w2", 60, { run: "late" }).then((c) => c?.kind), "eval"); // the untrained ones
    const failedOf = async () =>
      (
        await pool.query<{ key: string }>(
          "SELECT key FROM crossmon.cells WHERE run = 'late' AND status = 'failed' ORDER BY key",
        )
      ).rows.map((r) => r.key);
    const needing = plan.evals.filter((e) => e.model === cell.key).map((e) => e.key);
    assert.ok(needing.length > 0);
    assert.deepEqual(await failedOf(), [cell.key, ...needing].sort());
    // the first worker's work arrives late: committed, and its dependents queued again
    assert.equal(await commitCell(pool, cell, { base: "x" }, [], 1), true);
    assert.deepEqual(await failedOf(), []);
    const states = await pool.query<{ status: string }>(
      "SELECT DISTINCT status FROM crossmon.cells WHERE run = 'late' AND key = ANY($1)",
      [needing],
    );
    assert.deepEqual(
      states.rows.map((r) => r.status),
      ["queued"],
    );

    // a cell failed for good; `run --store` again queues it with its attempts cleared
    const next = await claimCell(pool, "w3", 60, { run: "late" });
    assert.ok(next);
    await pool.query("UPDATE crossmon.cells SET attempts = 3 WHERE run = 'late' AND key = $1", [next.key]);
    await failCell(pool, next, "w3", "boom");
    assert.deepEqual(await failedOf(), [next.key]);
    assert.deepEqual(await enqueueRun(pool, "late", spec, plan, null), { retried: 1 });
    const row = await pool.query<{ status: string; attempts: number; error: string | null }>(
      "SELECT status, attempts, error FROM crossmon.cells WHERE run = 'late' AND key = $1",
      [next.key],
    );
    assert.deepEqual(row.rows[0], { status: "queued", attempts: 0, error: null });
  } finally {
    await pool.end();
    db.stop();
  }
});
