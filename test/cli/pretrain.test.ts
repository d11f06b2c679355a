/** `crossmon pretrain --toy`: the toy sizes, with what the command line says outright winning over them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const recipeOf = (args: string[]) => {
  const out = join(mkdtempSync(join(tmpdir(), "crossmon-toy-")), "m");
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "pretrain", "--toy", "-q", "-o", out, ...args],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(join(out, "recipe.json"), "utf8")) as { steps: number; readingSteps: number };
};

test("--toy with --steps: the steps asked for, not the toy's", () => {
  const toy = recipeOf([]);
  const asked = recipeOf(["--steps", "5", "--reading-steps", "1"]);
  assert.deepEqual([toy.steps, toy.readingSteps], [3, 2]);
  assert.deepEqual([asked.steps, asked.readingSteps], [5, 1]);
});

test("a corpus cache without crossmon's header (an older build, a damaged file) is an error naming it", () => {
  const out = join(mkdtempSync(join(tmpdir(), "crossmon-toy-")), "m");
  mkdirSync(join(out, "work"), { recursive: true });
  writeFileSync(join(out, "work", "corpus.bin"), Buffer.alloc(64));
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "pretrain", "--toy", "-q", "-o", out],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 2);
  assert.match(r.stderr, /corpus\.bin: not a crossmon corpus cache \(no CXMC header; an older build\?\): delete it/);
});
