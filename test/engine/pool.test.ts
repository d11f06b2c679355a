/**
 * The native thread pool under stress: test/engine/native/pool-stress.cc, built with the pool and a stall at its claim
 * point (CM_POOL_STRESS), runs thousands of fork-join rounds whose task counts alternate, so that workers leaving one
 * round overlap the next. Every task must run exactly once, inside its round. (The pool before this test ran a task
 * twice or not at all within a few hundred rounds; under load, that corrupted a kernel's output now and then.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const cxx = process.env.CXX ?? "g++";
const has = spawnSync(cxx, ["--version"], { encoding: "utf8" });
const skip = has.status === 0 ? false : `no C++ compiler (${cxx}) to build the stress program`;

/** Builds test/engine/native/NAME.cc with the pool (and any extra flags) into a temporary folder. */
function buildWithPool(name: string, flags: string[] = []): string {
  const exe = join(mkdtempSync(join(tmpdir(), "crossmon-pool-")), name);
  const build = spawnSync(
    cxx,
    [
      ...["-O2", "-std=c++17", "-pthread", ...flags, "-o", exe],
      join(root, `test/engine/native/${name}.cc`),
      join(root, "src/engine/kernels/native/pool.cc"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(build.status, 0, build.stderr);
  return exe;
}

test("thread pool: every task of every round runs exactly once, with workers stalled at the claim point", {
  skip,
}, () => {
  const exe = buildWithPool("pool-stress", ["-DCM_POOL_STRESS"]);
  for (const threads of [2, 4, 8]) {
    const r = spawnSync(exe, [String(threads), "20000"], { encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, `${threads} threads: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^ok 20000/);
  }
});

test("thread pool: a task's exception reaches its caller, concurrent callers take turns, nested rounds run", {
  skip,
}, () => {
  const exe = buildWithPool("pool-callers");
  for (const threads of [2, 4]) {
    const r = spawnSync(exe, [String(threads)], { encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, `${threads} threads: ${r.stdout}${r.stderr}${r.signal ?? ""}`);
    assert.match(r.stdout, /^ok/);
  }
});
