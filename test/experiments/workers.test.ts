/**
 * A study across processes on PostgreSQL: three `crossmon worker`s share a run's cells, one is killed (-9) while it
 * holds a cell, and the run still completes with every prediction stored once and equal to the same spec run in one
 * process on SQLite.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import YAML from "yaml";
import { runExperiment } from "../../src/experiments/runner.js";
import { Store } from "../../src/experiments/store.js";
import { writeReport } from "../../src/report/report.js";
import { startPostgres } from "../postgres.js";
import { toyBase } from "../train/toy-base.js";
import { tinySpec } from "./tiny-spec.js";

const CLI = ["--import", "tsx", "src/cli/main.ts"];

function cli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, [...CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  return { child, done: new Promise((r) => child.on("exit", (code) => r({ code, out }))) };
}

/** A smaller spec (format transfer only) written to a temporary folder. */
function smallSpecFile() {
  const spec = tinySpec(toyBase(), {
    experiments: { format_transfer: { source: ["cyber_harm"], eval_tasks: ["agent_dangerous"] } },
  });
  const tmp = mkdtempSync(join(tmpdir(), "crossmon-workers-"));
  const specFile = join(tmp, "tiny.yaml");
  writeFileSync(specFile, YAML.stringify(spec));
  return { spec, tmp, specFile };
}

test("three workers on PostgreSQL, one killed mid-cell: the run completes, each prediction once, as on SQLite", async (t) => {
  const db = await startPostgres();
  if (typeof db === "string") return t.skip(db);
  const pool = new pg.Pool({ connectionString: db.url });
  try {
    const base = toyBase();
    const spec = tinySpec(base);
    const tmp = mkdtempSync(join(tmpdir(), "crossmon-workers-"));
    const specFile = join(tmp, "tiny.yaml");
    writeFileSync(specFile, YAML.stringify(spec));

    const one = await runExperiment(spec, join(tmp, "sqlite"), { quiet: true, log: () => {} });

    const dir = join(tmp, "pg-run");
    const enq = await cli(["run", specFile, "-o", dir, "--store", db.url, "--no-work", "-q"]).done;
    assert.equal(enq.code, 0, enq.out);
    assert.match(enq.out, /run pg-run: \d+ cells in postgres:\/\/crossmon@127\.0\.0\.1/);

    const workers = [0, 1, 2].map((i) =>
      cli(["worker", "--store", db.url, "--until-empty", "--lease", "3", "--dir", join(tmp, `w${i}`)]),
    );
    // kill the first worker while it holds a cell: stopped first (SIGSTOP), so that it cannot finish the cell between
    // the look and the kill, and killed only once the store shows the cell still its own
    const victim = workers[0].child;
    const mine = `${hostname()}:${victim.pid}:%`;
    const holding = async () =>
      (
        await pool.query<{ key: string }>(
          "SELECT key FROM crossmon.cells WHERE status = 'running' AND worker LIKE $1",
          [mine],
        )
      ).rows[0]?.key ?? null;
    let held: string | null = null;
    for (let i = 0; i < 600 && !held; i++) {
      if (await holding()) {
        assert.ok(victim.kill("SIGSTOP"), "the first worker had already exited");
        held = await holding();
        if (!held) victim.kill("SIGCONT");
      }
      if (!held) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(held, "the first worker never took a cell");
    victim.kill("SIGKILL");
    const ends = await Promise.all(workers.map((w) => w.done));
    assert.equal(ends[0].code, null, "the killed worker exits by its signal");
    for (const e of ends.slice(1)) assert.equal(e.code, 0, e.out);

    const cells = await pool.query<{ key: string; status: string; attempts: number }>(
      "SELECT key, status, attempts FROM crossmon.cells WHERE run = 'pg-run'",
    );
    assert.deepEqual(
      cells.rows.filter((c) => c.status !== "done"),
      [],
      "every cell done",
    );
    assert.ok(
      cells.rows.find((c) => c.key === held)!.attempts >= 2,
      "the killed worker's cell was taken again after its lease ran out",
    );

    const rep = await cli(["report", dir, "--store", db.url]).done;
    assert.equal(rep.code, 0, rep.out);
    // the same report figures: every question's results, read from both runs' results.json
    const single = (await writeReport(one)).results;
    const shared = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    for (const q of ["transfer", "scaling", "prompt_change", "instruction", "format_transfer", "elicitation"] as const)
      assert.deepEqual(shared[q], JSON.parse(JSON.stringify(single[q])), `report figures of ${q}`);
    const pulled = new Store(join(dir, "store.sqlite"));
    let rows = 0;
    for (const c of one.plan.evals) {
      const a = one.store.predictions(c.key);
      const b = pulled.predictions(c.key);
      assert.equal(b.length, a.length, `${c.key}: prediction count`);
      a.forEach((p, i) => {
        assert.equal(b[i].example, p.example);
        assert.equal(b[i].label, p.label);
        assert.ok(Math.abs(b[i].score - p.score) <= 1e-6, `${c.key} ${p.example}: ${b[i].score} vs ${p.score}`);
      });
      rows += a.length;
    }
    const stored = await pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM crossmon.predictions WHERE run = 'pg-run'",
    );
    assert.equal(Number(stored.rows[0].n), rows, "each prediction stored once");
    pulled.close();

    // the call cache is shared: the same spec run again by a process with an empty folder retrains its models (the
    // same weights, fetched to other paths) and reads every model call the workers made instead of making it again
    const calls = async () =>
      Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM crossmon.calls")).rows[0].n);
    const made = await calls();
    assert.ok(made > 0, "the workers' model calls are in the database");
    const again = await cli(["run", specFile, "-o", join(tmp, "pg-again"), "--store", db.url, "-q"]).done;
    assert.equal(again.code, 0, again.out);
    assert.equal(await calls(), made, "no model call made anew");
    const status = await pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM crossmon.cells WHERE run = 'pg-again' AND status = 'done'",
    );
    assert.equal(Number(status.rows[0].n), cells.rows.length, "every cell of the second run done");
    one.store.close();
  } finally {
    await pool.end();
    db.stop();
  }
});

test("on PostgreSQL: a cell that throws three times is failed and named by status and report; a worker refuses a run whose base model differs; the password is never printed", async (t) => {
  const db = await startPostgres();
  if (typeof db === "string") return t.skip(db);
  const pool = new pg.Pool({ connectionString: db.url });
  try {
    const { tmp, specFile } = smallSpecFile();
    const dir = join(tmp, "broken");
    const withPass = db.url.replace("crossmon@", "crossmon:s3cret@");
    const enq = await cli(["run", specFile, "-o", dir, "--store", withPass, "--no-work", "-q"]).done;
    assert.equal(enq.code, 0, enq.out);
    assert.doesNotMatch(enq.out, /s3cret/);
    assert.match(enq.out, /crossmon:\*\*\*@/);
    // one evaluation asks for a task no machine has: it throws on every attempt
    const bad = await pool.query<{ key: string }>(
      `UPDATE crossmon.cells SET spec = replace(spec, '"task":"agent_dangerous"', '"task":"no_such_task"')
       WHERE run = 'broken' AND key = (SELECT key FROM crossmon.cells WHERE run = 'broken' AND kind = 'eval'
         ORDER BY ord LIMIT 1) RETURNING key`,
    );
    const badKey = bad.rows[0].key;
    const w = await cli(["worker", "--store", db.url, "--until-empty", "--lease", "5", "--dir", join(tmp, "w")]).done;
    assert.equal(w.code, 0, w.out);
    const st = await cli(["status", "--store", db.url, "broken"]).done;
    assert.match(st.out, /broken: \d+ of \d+ cells done, 0 running, 0 queued, 1 failed/);
    assert.match(st.out, new RegExp(`failed ${badKey}: unknown task "no_such_task"`));
    const rep = await cli(["report", dir, "--store", db.url]).done;
    assert.equal(rep.code, 0, rep.out);
    assert.match(rep.out, new RegExp(`failed: ${badKey} \\(eval\\): unknown task`));
    assert.match(rep.out, /report: .*report\.html/);

    // another run, recorded with another base model's fingerprint: this worker's copy differs, so it refuses
    await cli(["run", specFile, "-o", join(tmp, "elsewhere"), "--store", db.url, "--no-work", "-q"]).done;
    await pool.query("UPDATE crossmon.runs SET fingerprint = 'another-model' WHERE name = 'elsewhere'");
    const w2 = await cli(["worker", "--store", db.url, "--until-empty", "--dir", join(tmp, "w2")]).done;
    assert.equal(w2.code, 0, w2.out);
    assert.match(w2.out, /refusing run elsewhere: this machine's .* differs from the run's/);
    // nothing done there, and nothing counted against the cells: another machine can still run every one
    const left = await pool.query<{ status: string; attempts: number }>(
      "SELECT DISTINCT status, attempts FROM crossmon.cells WHERE run = 'elsewhere'",
    );
    assert.deepEqual(left.rows, [{ status: "queued", attempts: 0 }]);

    const wrong = await cli(["status", "--store", "postgres://crossmon:pw@127.0.0.1:1/none"]).done;
    assert.notEqual(wrong.code, 0);
    assert.equal(wrong.out.trim().split("\n").length, 1, wrong.out);
    assert.match(wrong.out, /--store: cannot connect to postgres:\/\/crossmon:\*\*\*@127\.0\.0\.1:1\/none/);
  } finally {
    await pool.end();
    db.stop();
  }
});

test("on PostgreSQL: the server going down under a worker (every connection cut) costs retries, not cells or attempts", async (t) => {
  const db = await startPostgres();
  if (typeof db === "string") return t.skip(db);
  const pool = new pg.Pool({ connectionString: db.url });
  pool.on("error", () => {});
  try {
    const { spec, tmp, specFile } = smallSpecFile();
    const one = await runExperiment(spec, join(tmp, "sqlite"), { quiet: true, log: () => {} });
    const enq = await cli(["run", specFile, "-o", join(tmp, "cut"), "--store", db.url, "--no-work", "-q"]).done;
    assert.equal(enq.code, 0, enq.out);
    const w = cli(["worker", "--store", db.url, "--until-empty", "--lease", "5", "--dir", join(tmp, "w")]);
    const doneCount = async () =>
      Number(
        (await pool.query<{ n: string }>("SELECT count(*) AS n FROM crossmon.cells WHERE status = 'done'")).rows[0].n,
      );
    for (let i = 0; i < 600 && (await doneCount()) < 2; i++) await new Promise((r) => setTimeout(r, 100));
    // down for 3 s (every connection cut, new ones refused): longer than any one cell here, so the worker meets it
    db.down();
    await new Promise((r) => setTimeout(r, 3000));
    db.up();
    const end = await w.done;
    assert.equal(end.code, 0, end.out);
    assert.match(end.out, /retrying in|lost the store's connection/);
    assert.match(end.out, /0 failed here/);
    const after = new pg.Pool({ connectionString: db.url });
    try {
      const left = await after.query("SELECT key, status, error FROM crossmon.cells WHERE status <> 'done'");
      assert.deepEqual(left.rows, []);
      const spent = await after.query("SELECT key, attempts FROM crossmon.cells WHERE run = 'cut' AND attempts > 1");
      assert.deepEqual(spent.rows, [], "no cell spent a second attempt on the lost connection");
      for (const c of one.plan.evals) {
        const n = await after.query<{ n: string }>(
          "SELECT count(*) AS n FROM crossmon.predictions WHERE run = 'cut' AND cell = $1",
          [c.key],
        );
        assert.equal(Number(n.rows[0].n), one.store.predictions(c.key).length, c.key);
      }
    } finally {
      await after.end();
      one.store.close();
    }
  } finally {
    await pool.end().catch(() => {});
    db.stop();
  }
});
