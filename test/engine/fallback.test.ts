/** Without the native addon, crossmon warns once and runs on the TypeScript kernels: no crash, same results. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

const addon = join(ROOT, "build", "Release", "crossmon_kernels.node");
// the comparison needs the native kernels on one side (else it would compare the references with themselves)
const skip = process.env.CROSSMON_ADDON || existsSync(addon) ? false : "native addon not built";

test("a missing addon gives one warning line and the reference kernels, which still load and score a model", {
  skip,
}, () => {
  const cli = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
  const info = cli(["engine", "info"], { CROSSMON_ADDON: "/nonexistent/crossmon_kernels.node" });
  assert.equal(info.status, 0, info.stderr);
  assert.equal(JSON.parse(info.stdout).kernels, "reference");
  const warnings = info.stderr.split("\n").filter((l) => l.includes("warning"));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /native kernels unavailable .*using the slower TypeScript kernels/);
  const fixture = join(ROOT, "test", "fixtures", "tiny-qwen3");
  const script = `import { loadModel } from "./src/engine/io/checkpoint.js"; import { scoreNextTokens } from "./src/engine/score.js"; const m = loadModel(${JSON.stringify(fixture)}); console.log(JSON.stringify(scoreNextTokens(m, [[3, 17, 42]], [4, 9])));`;
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
  const ref = run({ CROSSMON_ADDON: "/nonexistent/x.node" });
  const nat = run({});
  assert.equal(ref.status, 0, ref.stderr);
  assert.equal(nat.status, 0, nat.stderr);
  assert.doesNotMatch(nat.stderr, /native kernels unavailable/, "the other side runs on the native kernels");
  const a = JSON.parse(ref.stdout)[0],
    b = JSON.parse(nat.stdout)[0];
  a.forEach((x: number, i: number) => assert.ok(Math.abs(x - b[i]) < 1e-4));
});
