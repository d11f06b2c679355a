/** `crossmon eval` from the command line: the world seed picks fresh texts for the same tasks; bad options stop early. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const MODEL = join(ROOT, "models", "crossmon-base");
const cli = (args: string[]) =>
  spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "eval", "--model", MODEL, "-q", ...args],
    { cwd: ROOT, encoding: "utf8" },
  );

test("eval --world-seed scores the same tasks on other texts; a bad seed or a seed with --tasks exits 2", () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-eval-"));
  const rows = (seed: string) => {
    const json = join(dir, `seed${seed}.json`);
    const r = cli(["--only", "email_link", "support_upset", "-n", "40", "--world-seed", seed, "--json", json]);
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(readFileSync(json, "utf8")) as { auroc: { value: number; lo: number; hi: number } }[];
    const n = (f: (a: { value: number; lo: number; hi: number }) => boolean) => got.filter((x) => f(x.auroc)).length;
    assert.ok(
      r.stdout.includes(
        `2 tasks: AUROC above 0.5 on ${n((a) => a.value > 0.5)}, 95% CI above 0.5 on ${n((a) => a.lo > 0.5)}, below 0.5 on ${n((a) => a.hi < 0.5)}`,
      ),
      r.stdout,
    );
    // the shortcut columns: prompt length's own AUROC and ρ(score, length) within a label, printed and in the JSON
    for (const x of got as unknown as { task: string; length_auroc: number; score_length_rho: number }[]) {
      assert.ok(x.length_auroc >= 0 && x.length_auroc <= 1 && Math.abs(x.score_length_rho) <= 1, JSON.stringify(x));
      assert.match(
        r.stdout,
        new RegExp(
          `${x.task} .* length alone ${x.length_auroc.toFixed(2)}  ρ\\(score, length \\| label\\) +${x.score_length_rho.toFixed(2)}`,
        ),
      );
    }
    return JSON.parse(readFileSync(json, "utf8")) as { task: string; n: number; auroc: { value: number } }[];
  };
  const a = rows("0"),
    b = rows("1");
  assert.deepEqual(
    a.map((r) => [r.task, r.n]),
    [
      ["email_link", 40],
      ["support_upset", 40],
    ],
  );
  assert.deepEqual(
    b.map((r) => [r.task, r.n]),
    [
      ["email_link", 40],
      ["support_upset", 40],
    ],
  );
  // the base model's AUROCs on 40 other texts cannot all coincide with the first world's
  assert.notDeepEqual(
    a.map((r) => r.auroc.value),
    b.map((r) => r.auroc.value),
  );
  assert.deepEqual(
    rows("1").map((r) => r.auroc.value),
    b.map((r) => r.auroc.value),
    "a seed is reproducible",
  );
  const bad = cli(["--world-seed", "-1"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--world-seed must be an integer of at least 0 \(got "-1"\)/);
  const tasks = join(dir, "tasks.jsonl");
  writeFileSync(tasks, `${JSON.stringify({ task: "t", prompt: "Is it {text}?", text: "a", label: 1 })}\n`);
  const withTasks = cli(["--tasks", tasks, "--world-seed", "3"]);
  assert.equal(withTasks.status, 2);
  assert.match(withTasks.stderr, /--world-seed applies to the built-in world, not to --tasks/);
});
