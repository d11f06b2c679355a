/** One process per run folder: a live holder is named and refused; a stale lock (its process gone) is taken over. */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LOCK_FILE, lockFolder } from "../../src/core/lock.js";
import { parseTrainSpec } from "../../src/train/spec.js";
import { runTraining } from "../../src/train/run.js";
import { toyBase } from "../train/toy-base.js";

const holderFile = (pid: number) =>
  JSON.stringify({ pid, host: hostname(), started: "2026-12-01T00:00:00.000Z", command: "crossmon run x" });

test("a folder's lock names its live holder; released, it is gone; a stale one is taken over", () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-lock-"));
  const release = lockFolder(dir);
  assert.throws(() => lockFolder(dir), new RegExp(`in use by crossmon pid ${process.pid} on ${hostname()}`));
  release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  // a process that has exited left its lock behind
  const gone = spawnSync(process.execPath, ["-e", "0"]).pid ?? 0;
  writeFileSync(join(dir, LOCK_FILE), holderFile(gone));
  const mine = lockFolder(dir);
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid, process.pid);
  mine();
  // a half-written lock (a kill between create and write) is stale too
  writeFileSync(join(dir, LOCK_FILE), '{"pid": 12');
  lockFolder(dir)();
});

test("a training into a folder another live process holds is refused before any work, naming it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-lock-"));
  const other = spawn("sleep", ["30"]);
  try {
    writeFileSync(join(dir, LOCK_FILE), holderFile(other.pid ?? 0));
    const spec = parseTrainSpec({
      base_model: toyBase(),
      data: { world: { seed: 0, size: 40 } },
      stages: [{ name: "s", mixture: { classification: [{ task: "cyber_harm", examples: 2 }] } }],
    });
    await assert.rejects(
      runTraining(spec, dir, { quiet: true, log: () => {} }),
      new RegExp(`${dir}: in use by crossmon pid ${other.pid} .*wait for it to finish, or use another folder`),
    );
    assert.equal(existsSync(join(dir, "spec.resolved.yaml")), false, "nothing was written");
  } finally {
    other.kill();
  }
});
