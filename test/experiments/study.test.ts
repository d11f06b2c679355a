/** Planning, running, killing and resuming an experiment, and the report, on a tiny spec over the toy base. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { modelFingerprint } from "../../src/engine/io/fingerprint.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import Database from "better-sqlite3";
import { planExperiment } from "../../src/experiments/plan.js";
import { runExperiment } from "../../src/experiments/runner.js";
import { writeReport } from "../../src/report/report.js";
import { openRun } from "../../src/experiments/open.js";
import { quickstartSpec, studySpec } from "../../src/experiments/builtin.js";
import { Analysis, analyse } from "../../src/experiments/analyze.js";
import { describe } from "../../src/report/findings.js";
import { sectionsOf } from "../../src/report/figures.js";
import { toyBase } from "../train/toy-base.js";
import { tinySpec } from "./tiny-spec.js";
import { nativeKernels } from "../../src/engine/kernels/index.js";

const ROOT = join(import.meta.dirname, "..", "..");
const base = toyBase();

test("planning: one cell per distinct model and evaluation, shared across questions", () => {
  const plan = planExperiment(tinySpec(base));
  const m = plan.models;
  // training on cyber_harm alone serves transfer, prompt change, IF "none" and format transfer
  assert.equal(m["source:cyber"], m["prompt:trained"]);
  assert.equal(m["source:cyber"], m["if:none"]);
  assert.equal(m["source:cyber"], m["format:trained"]);
  assert.equal(new Set(plan.train.map((c) => c.key)).size, plan.train.length);
  assert.equal(new Set(plan.evals.map((c) => c.key)).size, plan.evals.length);
  assert.deepEqual(planExperiment(tinySpec(base)), plan, "deterministic");
  assert.equal(
    plan.evals.filter(
      (e) => e.model === null && e.task === "agent_dangerous" && e.format === "single" && e.split === "test",
    ).length,
    1,
  );
  // the built-in specs plan too
  assert.equal(
    planExperiment(quickstartSpec(base)).train.length,
    8 * 3,
    "the matrix: a model per domain, 3 replicates",
  );
  assert.ok(planExperiment(studySpec(base)).train.length > planExperiment(quickstartSpec(base)).train.length);
});

test("a run answers all six questions; the report has a sentence, a chart and a table for each", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "crossmon-study-")), "run");
  const threads = nativeKernels()?.info().threads;
  const run = await runExperiment(tinySpec(base), dir, { quiet: true, log: () => {} });
  assert.equal(nativeKernels()?.info().threads, threads, "the spec's thread count (1) held for the run only");
  const r = await writeReport(run);
  run.store.close();
  const html = readFileSync(r.html, "utf8");
  for (const h of [
    "1. Transfer across domains",
    "2. Scaling adjacent data",
    "3. A complete prompt change",
    "4. Instruction-following training",
    "5. Format transfer",
    "6. Unsupervised elicitation",
    "Every evaluation",
  ])
    assert.ok(html.includes(h), h);
  assert.ok((html.match(/<svg/g) ?? []).length >= 10, "charts are inline SVG");
  assert.ok(!/<script|https?:\/\/(?!www\.w3\.org)/.test(html), "self-contained: no script, no network");
  const res = JSON.parse(readFileSync(r.json, "utf8"));
  for (const k of ["transfer", "scaling", "prompt_change", "instruction", "format_transfer", "elicitation"])
    assert.match(res[k].finding, /\d\.\d\d \[/, k);
  assert.ok(readFileSync(r.md, "utf8").includes("## 6. Unsupervised elicitation"));
  // every single-token evaluation has its metrics
  for (const e of res.evaluations) assert.ok(e.auroc.value >= 0 && e.auroc.value <= 1 && e.n > 0);
  // the report can be rebuilt from the store alone
  const again = await openRun(dir);
  const r2 = await writeReport(again);
  // every chart row names the evaluation behind it (what the viewer opens on a click), and that evaluation exists
  const planned = new Set(again.plan.evals.map((e) => e.key));
  const sections = sectionsOf(describe(analyse(again)), new Analysis(again));
  let rows = 0;
  for (const s of sections)
    for (const c of s.charts)
      for (const layer of [c.spec, ...((c.spec.layer as Record<string, unknown>[] | undefined) ?? [])]) {
        const values = (layer.data as { values?: Record<string, unknown>[] } | undefined)?.values ?? [];
        for (const row of values.filter((v) => "eval" in v)) {
          rows++;
          assert.ok(planned.has(row.eval as string), `${s.id}/${c.id}: ${JSON.stringify(row)}`);
        }
      }
  assert.ok(rows > 40, `${rows} chart rows checked`);
  again.store.close();
  assert.equal(readFileSync(r2.json, "utf8"), readFileSync(r.json, "utf8"));
});

test("new weights at the same base path: every cell is computed again, nothing stale is reused", async () => {
  const root = mkdtempSync(join(tmpdir(), "crossmon-rebase-"));
  const copy = join(root, "base");
  cpSync(base, copy, { recursive: true, filter: (f) => !f.includes("work") });
  const spec = tinySpec(copy, {
    experiments: {
      transfer: { sources: { cyber: ["cyber_harm"] }, eval_tasks: ["agent_dangerous"], leave_one_out: false },
    },
  });
  const dir = join(root, "run");
  const keys = async () => {
    const run = await runExperiment(spec, dir, { quiet: true, log: () => {} });
    const all = (run.store.db.prepare("SELECT key FROM cells WHERE status = 'done'").all() as { key: string }[]).map(
      (r) => r.key,
    );
    const planned = [...run.plan.train, ...run.plan.evals].map((c) => c.key);
    const cached = (run.store.db.prepare("SELECT count(*) AS n FROM cache").get() as { n: number }).n;
    run.store.close();
    return { all, planned, cached };
  };
  const first = await keys();
  const again = await keys();
  assert.deepEqual(again, first, "the same weights: everything from the store");
  const w = readFileSync(join(copy, "model.safetensors"));
  w[w.length - 2] ^= 1;
  writeFileSync(join(copy, "model.safetensors"), w);
  const after = await keys();
  assert.equal(after.planned.length, first.planned.length);
  assert.ok(
    after.planned.every((k) => !first.planned.includes(k)),
    "no cell key survives a change of weights",
  );
  assert.equal(after.all.length, 2 * first.all.length, "every cell computed again");
  assert.equal(after.cached, 2 * first.cached, "no model call answered from the old weights' cache");
});

test("killed with kill -9 mid-run, the same command resumes: nothing recomputed, nothing lost or duplicated", async () => {
  const root = mkdtempSync(join(tmpdir(), "crossmon-kill-"));
  const file = join(root, "tiny.yaml");
  writeFileSync(file, YAML.stringify(tinySpec(base)));
  const dir = join(root, "run");
  const cli = ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "run", file, "-q", "-o", dir];
  const env = { ...process.env, CROSSMON_THREADS: "1" };
  const child = spawn(process.execPath, cli, { cwd: ROOT, env, stdio: "ignore" });
  const dbFile = join(dir, "store.sqlite");
  const count = () => {
    if (!existsSync(dbFile)) return 0;
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM cells WHERE status = 'done'").get() as { n: number }).n;
    } catch {
      return 0;
    } finally {
      db.close();
    }
  };
  const t0 = Date.now();
  while (count() < 4 && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 25));
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  const db = new Database(dbFile, { readonly: true });
  const before = db.prepare("SELECT key, finished FROM cells WHERE status = 'done'").all() as {
    key: string;
    finished: number;
  }[];
  db.close();
  const plan = planExperiment(tinySpec(base), modelFingerprint(base));
  assert.ok(
    before.length >= 4 && before.length < plan.train.length + plan.evals.length,
    `killed after ${before.length} cells`,
  );
  const resumed = spawnSync(process.execPath, cli, { cwd: ROOT, env, encoding: "utf8" });
  assert.equal(resumed.status, 0, resumed.stderr);
  const db2 = new Database(dbFile, { readonly: true });
  const after = db2.prepare("SELECT key, finished, status FROM cells").all() as {
    key: string;
    finished: number;
    status: string;
  }[];
  for (const b of before)
    assert.equal(after.find((x) => x.key === b.key)!.finished, b.finished, "a finished cell was not recomputed");
  assert.equal(after.length, plan.train.length + plan.evals.length);
  assert.ok(after.every((x) => x.status === "done"));
  for (const e of plan.evals) {
    const n = (db2.prepare("SELECT count(*) AS n FROM predictions WHERE cell = ?").get(e.key) as { n: number }).n;
    const res = JSON.parse(
      (db2.prepare("SELECT result FROM cells WHERE key = ?").get(e.key) as { result: string }).result,
    ) as { n: number };
    // one prediction per example scored (at most the split's size)
    assert.ok(
      n === res.n && n > 0 && n <= e.examples,
      `cell ${e.task}/${e.format}/${e.split}: ${n} predictions for ${res.n} examples`,
    );
  }
  db2.close();
  assert.ok(existsSync(join(dir, "report.html")));
});
