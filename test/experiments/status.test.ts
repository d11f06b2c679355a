/** `crossmon status`: a run's cells done, running in a live process, interrupted by a dead one, and not started. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { LOCK_FILE } from "../../src/core/lock.js";
import { openRun } from "../../src/experiments/open.js";
import { runExperiment } from "../../src/experiments/runner.js";
import { runStatus } from "../../src/experiments/status.js";
import { Store } from "../../src/experiments/store.js";
import { toyBase } from "../train/toy-base.js";
import { tinySpec } from "./tiny-spec.js";

const ROOT = join(import.meta.dirname, "..", "..");

test("done, running, interrupted and not started, from the store and the folder's lock", async () => {
  const work = mkdtempSync(join(tmpdir(), "crossmon-status-"));
  const spec = tinySpec(toyBase(), {
    experiments: {
      transfer: { sources: { cyber: ["cyber_harm"] }, eval_tasks: ["agent_dangerous"], leave_one_out: false },
    },
  });
  const done = join(work, "done");
  (await runExperiment(spec, done, { quiet: true, log: () => {} })).store.close();
  const dir = join(work, "partial");
  cpSync(done, dir, { recursive: true });
  const db = new Database(join(dir, "store.sqlite"));
  const keys = (db.prepare("SELECT key FROM cells WHERE kind = 'eval' ORDER BY key").all() as { key: string }[]).map(
    (r) => r.key,
  );
  db.prepare("UPDATE cells SET status = 'running', started = ? WHERE key = ?").run(Date.now() / 1000 - 30, keys[0]);
  db.prepare("DELETE FROM cells WHERE key = ?").run(keys[1]);
  db.close();

  // no process holds the folder: the running cell was interrupted
  let run = await openRun(dir, { partial: true });
  let s = runStatus(run);
  assert.deepEqual([s.done, s.running.length, s.interrupted.length, s.queued], [s.total - 2, 0, 1, 1]);
  // this process holds it: the cell is running, for about 30 s
  writeFileSync(
    join(dir, LOCK_FILE),
    JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString(), command: "test" }),
  );
  s = runStatus(run);
  assert.equal(s.running.length, 1);
  assert.ok(s.running[0].seconds >= 29 && s.running[0].seconds <= 60, String(s.running[0].seconds));
  assert.match(s.running[0].cell, /^single agent_dangerous \(/);
  run.store.close();

  const cli = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "status", done, dir],
    { encoding: "utf8" },
  );
  assert.equal(cli.status, 0, cli.stderr);
  const [first, second] = cli.stdout.split("\n");
  assert.match(first, /^tiny \(.*done\): (\d+)\/\1 done, 0 running, 0 interrupted, 0 not started$/);
  assert.match(second, /^tiny \(.*partial\): \d+\/\d+ done, 1 running, 0 interrupted, 1 not started — run by pid \d+/);
  run = await openRun(done, { partial: true });
  assert.equal(runStatus(run).process, null);
  run.store.close();
});

test("a cell whose start fails leaves no cell marked running behind it", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "crossmon-failed-start-")), "run");
  // the scaling question names more in-domain examples than the task's training split holds
  const spec = tinySpec(toyBase(), {
    experiments: {
      scaling: { target: "agent_dangerous", in_domain: 5000, adjacent_task: "cyber_harm", adjacent: [0, 8] },
    },
  });
  await assert.rejects(runExperiment(spec, dir, { quiet: true, log: () => {} }), /asks for 5000 examples/);
  const store = new Store(join(dir, "store.sqlite"));
  try {
    assert.deepEqual(
      store.cells().filter((c) => c.status !== "done"),
      [],
      "no cell left running",
    );
  } finally {
    store.close();
  }
});
