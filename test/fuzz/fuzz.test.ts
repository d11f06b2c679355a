/**
 * A short run of `npm run fuzz` (fixed seed, 15 s): mutated safetensors headers, configs, tokenizers, chat templates,
 * adapters and Inspect logs each end in success or a clean error, never a crash, a hang or memory past the bound.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

test("fuzz: 15 s of mutated model files, templates and logs, every one loaded or refused cleanly", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "fuzz/run.ts", "--seconds", "15", "--seed", "7"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 180_000,
  });
  const summary = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
  assert.deepEqual(summary.defects, [], JSON.stringify(summary.defects, null, 2));
  assert.equal(r.status, 0, r.stderr);
  assert.ok(summary.cases >= 60, `only ${summary.cases} cases ran`);
  for (const [name, t] of Object.entries(summary.targets as Record<string, { ok: number; refused: number }>))
    assert.ok(t.ok + t.refused > 0, `${name}: no case ran`);
});
