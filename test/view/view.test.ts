/**
 * `crossmon view` on runs made here: its JSON API (answers, 400s with the reason, 404s), a run in progress that
 * updates as its cells finish, bad input on the command line, and the page itself in a real browser (Debian's
 * Chromium through playwright-core, headless): open the run, click a transfer cell, filter to errors, open an example,
 * read its prompt, compare two models; the report's sections too, with no label cut off.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Browser, chromium } from "playwright-core";
import Database from "better-sqlite3";
import { runExperiment } from "../../src/experiments/runner.js";
import { writeReport } from "../../src/report/report.js";
import { RunRegistry } from "../../src/view/runs.js";
import { createViewServer, listen } from "../../src/view/server.js";
import { tinySpec } from "../experiments/tiny-spec.js";
import { toyBase } from "../train/toy-base.js";

const ROOT = join(import.meta.dirname, "..", "..");
// screenshots: into docs/ for the README with CROSSMON_SCREENSHOTS=docs, else a temporary folder (a test run leaves
// the working tree as it was)
const DOCS = process.env.CROSSMON_SCREENSHOTS === "docs" ? join(ROOT, "docs") : mkdtempSync(join(tmpdir(), "shots-"));
const CHROMIUM = process.env.CROSSMON_CHROMIUM ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
const work = mkdtempSync(join(tmpdir(), "crossmon-view-"));
const runDir = join(work, "tiny");
let url = "";
let close: () => void = () => {};

// biome-ignore lint/suspicious/noExplicitAny: the tests read whatever fields an answer has
type Json = any;
async function get(path: string): Promise<{ status: number; json: Json }> {
  const r = await fetch(new URL(path, url));
  return { status: r.status, json: await r.json() };
}

before(async () => {
  const run = await runExperiment(tinySpec(toyBase()), runDir, { quiet: true, log: () => {} });
  await writeReport(run);
  run.store.close();
  const registry = await RunRegistry.open([runDir]);
  const server = createViewServer(registry);
  url = await listen(server, 0, "127.0.0.1");
  close = () => {
    server.close();
    registry.close();
  };
});
after(() => close());

test("the API: runs, a run's findings and evaluations, examples filtered and sorted, one example, a comparison", async () => {
  const runs = await get("/api/runs");
  assert.equal(runs.status, 200);
  assert.deepEqual(
    runs.json.map((r: Json) => [r.id, r.done === r.total]),
    [["tiny", true]],
  );
  const run = (await get("/api/runs/tiny")).json;
  assert.deepEqual(
    run.sections.map((s: Json) => s.id),
    ["transfer", "scaling", "prompt_change", "instruction", "format_transfer", "elicitation"],
  );
  assert.match(run.headline, /^Across \d+ evaluations, test AUROCs lie within/);
  // the heatmap's cells name the evaluations behind them
  const heat = run.sections[0].charts[0].spec.data.values;
  const cell = heat.find((v: Json) => v.source === "untrained" && v.task === "agent_dangerous");
  const evalRow = run.evaluations.find((e: Json) => e.key === cell.eval);
  assert.deepEqual(
    [evalRow.model, evalRow.task, evalRow.format, evalRow.split],
    ["untrained", "agent_dangerous", "single", "test"],
  );

  const ex = (q: string) => get(`/api/runs/tiny/evals/${cell.eval}/examples?${q}`);
  const all = (await ex("sort=p&order=desc")).json;
  assert.ok(all.total > 0 && all.rows.length === all.total);
  const ps = all.rows.map((r: Json) => r.p);
  assert.deepEqual(
    ps,
    [...ps].sort((a: number, b: number) => b - a),
    "sorted by P(positive), highest first",
  );
  const errors = (await ex("errors=1&threshold=0.5")).json;
  assert.ok(errors.rows.every((r: Json) => r.correct === false && r.p >= 0.5 !== (r.label === 1)));
  const pos = (await ex("label=positive")).json;
  assert.ok(pos.rows.length > 0 && pos.rows.every((r: Json) => r.label === 1));
  // the rates at a threshold, over the whole evaluation
  const r0 = (await ex("threshold=0")).json.rates;
  assert.deepEqual([r0.tpr, r0.fpr], [1, 1]);
  const r1 = (await ex("threshold=1")).json.rates;
  assert.deepEqual([r1.tpr, r1.fpr], [0, 0]);

  const one = (await get(`/api/runs/tiny/evals/${cell.eval}/examples/${encodeURIComponent(all.rows[0].id)}`)).json;
  assert.ok(one.prompt.includes(one.text.slice(0, 40)), "the prompt as scored holds the text");
  assert.ok(one.prompt.includes("Answer with Yes or No."));
  assert.deepEqual(
    one.answers.map((a: Json) => a.token),
    [" Yes", " No"],
  );
  for (const s of one.highlights) assert.ok(s.end > s.start && one.text.slice(s.start, s.end).length > 0);

  // an example the same model also reasoned about and summarised: its traces and summary come with it
  const thinking = run.evaluations.find(
    (e: Json) => e.model === "untrained" && e.task === "agent_dangerous" && e.format === "thinking",
  );
  const traced = (await get(`/api/runs/tiny/evals/${thinking.key}/examples?limit=1`)).json.rows[0].id;
  const both = (await get(`/api/runs/tiny/evals/${thinking.key}/examples/${encodeURIComponent(traced)}`)).json;
  assert.equal(both.thinking.length, 1);
  assert.ok(both.thinking[0].trace.length > 0 && both.thinking[0].verdicts.length === 2, "k = 2 traces' verdicts");
  assert.equal(both.summaries.length, 1);
  assert.equal(typeof both.summaries[0].summary, "string");
  const other = heat.find((v: Json) => v.source === "in-domain" && v.task === "agent_dangerous").eval;
  const cmp = (await get(`/api/runs/tiny/compare?a=${cell.eval}&b=${other}`)).json;
  assert.equal(cmp.total, all.total, "the same examples on both sides");
  const flags = cmp.rows.map((r: Json) => r.disagree);
  assert.deepEqual(
    flags,
    [...flags].sort((a: boolean, b: boolean) => Number(b) - Number(a)),
    "disagreements first",
  );
});

test("every chart row that stands for an evaluation names one, and a click on it opens its examples", async () => {
  const run = (await get("/api/runs/tiny")).json;
  const rows: { section: string; chart: string; row: Json }[] = [];
  // a chart's rows, in its data and in the data of its layers and facets
  const walk = (section: string, chart: string, spec: Json) => {
    if (!spec || typeof spec !== "object") return;
    for (const row of spec.data?.values ?? []) if (row && "eval" in row) rows.push({ section, chart, row });
    for (const v of Object.values(spec)) if (typeof v === "object") walk(section, chart, v);
  };
  for (const s of run.sections) for (const c of s.charts) walk(s.id, c.id, c.spec);
  const charts = new Set(rows.map((r) => r.chart));
  for (const id of ["instruction-bars"]) assert.ok(charts.has(id), `${id} has rows with evaluations`);
  const known = new Set(run.evaluations.map((e: Json) => e.key));
  for (const { section, chart, row } of rows) {
    const what = `${section}/${chart} ${JSON.stringify(row)}`;
    assert.ok(typeof row.eval === "string" && known.has(row.eval), `${what}: its evaluation does not resolve`);
  }
  for (const key of new Set(rows.map((r) => r.row.eval)))
    assert.equal((await get(`/api/runs/tiny/evals/${key}/examples?limit=1`)).status, 200, key);
});

test("bad parameters are 400 with the reason; unknown runs, evaluations and examples are 404", async () => {
  const run = (await get("/api/runs/tiny")).json;
  const key = run.evaluations[0].key;
  const bad = async (path: string, status: number, re: RegExp) => {
    const r = await get(path);
    assert.equal(r.status, status, path);
    assert.match(r.json.error, re, path);
  };
  await bad("/api/runs/nope", 404, /no run "nope"/);
  await bad("/api/runs/tiny/evals/nope/examples", 404, /no evaluation "nope"/);
  await bad(`/api/runs/tiny/evals/${key}/examples/nope`, 404, /no example "nope"/);
  await bad(`/api/runs/tiny/evals/${key}/examples?limit=abc`, 400, /parameter "limit"/);
  await bad(`/api/runs/tiny/evals/${key}/examples?threshold=2`, 400, /parameter "threshold"/);
  await bad(`/api/runs/tiny/evals/${key}/examples?sort=text`, 400, /parameter "sort"/);
  await bad(`/api/runs/tiny/evals/${key}/examples?bogus=1`, 400, /Unrecognized key: "bogus"/);
  await bad("/api/runs/tiny/compare?a=x", 400, /parameter "b"/);
  await bad("/api/nothing", 404, /no API route/);
  await bad("/api/runs/%E0%A4%A", 400, /malformed %-escape in the path/);
  // a page on another site whose name resolves here (DNS rebinding) is not served
  const port = new URL(url).port;
  const foreign = await new Promise<string>((resolve) => {
    const sock = netConnect(Number(port), "127.0.0.1", () =>
      sock.write("GET /api/runs HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"),
    );
    let got = "";
    sock.on("data", (d) => (got += d));
    sock.on("close", () => resolve(got));
  });
  assert.match(foreign, /^HTTP\/1\.1 403/);
  assert.match(foreign, /not this server's address/);
});

test("a run in progress: its progress shows, and its findings appear once the missing cells are done", async () => {
  const dir = join(work, "partial");
  cpSync(runDir, dir, { recursive: true });
  const db = new Database(join(dir, "store.sqlite"));
  const { key } = db.prepare("SELECT key FROM cells WHERE kind = 'eval' LIMIT 1").get() as { key: string };
  db.prepare("UPDATE cells SET status = 'running' WHERE key = ?").run(key);
  db.close();
  const registry = await RunRegistry.open([dir]);
  const server = createViewServer(registry);
  const base = await listen(server, 0, "127.0.0.1");
  try {
    const before = await (await fetch(`${base}api/runs/partial`)).json();
    assert.equal(before.complete, false);
    assert.equal(before.done, before.total - 1);
    assert.match(before.headline, /^In progress: \d+ of \d+ cells done\./);
    assert.deepEqual(before.sections, []);
    // the run goes on (the same command resumes it) while the viewer is open
    const run = await runExperiment(tinySpec(toyBase()), dir, { quiet: true, log: () => {} });
    run.store.close();
    const after = await (await fetch(`${base}api/runs/partial`)).json();
    assert.equal(after.complete, true);
    assert.equal(after.sections.length, 6);
  } finally {
    server.close();
    registry.close();
  }
});

function cli(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), ...args], { cwd: ROOT });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => ok({ code, err }));
  });
}

test("bad input: a folder with no run, a corrupt store, a port in use: one line and exit 2", async () => {
  const empty = mkdtempSync(join(tmpdir(), "crossmon-norun-"));
  const a = await cli(["view", empty]);
  assert.equal(a.code, 2);
  assert.match(a.err, /^crossmon: error: .*no store\.sqlite here: not a crossmon run folder\n$/);
  const corrupt = join(work, "corrupt");
  mkdirSync(corrupt);
  writeFileSync(join(corrupt, "store.sqlite"), "this is not a database, it was cut short ".repeat(200));
  const b = await cli(["view", corrupt]);
  assert.equal(b.code, 2);
  assert.match(b.err, /^crossmon: error: .*store\.sqlite: not a readable run store \(.*\)\n$/);
  const busy = createServer();
  await new Promise<void>((ok) => busy.listen(0, "127.0.0.1", ok));
  const port = (busy.address() as { port: number }).port;
  const d = await cli(["view", "--store", "postgres://u@localhost/db"]);
  assert.equal(d.code, 2);
  assert.match(d.err, /--store: PostgreSQL stores are not supported yet/);
  const c = await cli(["view", "--store", `sqlite://${join(runDir, "store.sqlite")}`, "--port", String(port)]);
  busy.close();
  assert.equal(c.code, 2);
  assert.match(c.err, new RegExp(`^crossmon: error: --port ${port}: already in use`));
});

const browserTest = (name: string, fn: () => Promise<void>) =>
  test(name, { skip: CHROMIUM ? false : "no Chromium here (apt-get install chromium, or set CROSSMON_CHROMIUM)" }, fn);
let browser: Browser | undefined;
after(async () => browser?.close());

browserTest(
  "in Chromium: a transfer cell opens its examples; errors only; one example's prompt; two models",
  async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("request", (r) => !r.url().startsWith(url) && problems.push(`network: ${r.url()}`));
    mkdirSync(DOCS, { recursive: true });

    await page.goto(url);
    await page.click("text=tiny");
    await page.waitForSelector("[data-testid=headline]");
    const matrix = page.locator('[data-chart^="AUROC by training source"] svg');
    await matrix.waitFor();
    await page.screenshot({ path: join(DOCS, "view-run.png") });
    // the heatmap's first cell: untrained on the first held-out task
    await matrix.locator(".mark-text text").first().click();
    await page.waitForSelector("[data-testid=examples] tbody tr");
    assert.match((await page.textContent("h1")) ?? "", /^untrained on agent_dangerous$/);
    const allRows = await page.locator("[data-testid=examples] tbody tr").count();
    await page.check("[data-testid=errors]");
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=examples] tbody tr").length < n, allRows);
    const wrong = await page.locator("[data-testid=examples] tbody td.correct").allTextContents();
    assert.ok(wrong.length > 0 && wrong.every((t) => t === "wrong"));
    // the threshold slider moves the rates
    const rates = await page.textContent("[data-testid=rates]");
    await page.locator("[data-testid=threshold]").fill("0.99");
    await page.waitForFunction((r) => document.querySelector("[data-testid=rates]")?.textContent !== r, rates);
    await page.locator("[data-testid=threshold]").fill("0.5");
    await page.screenshot({ path: join(DOCS, "view-examples.png") });
    await page.locator("[data-testid=examples] tbody tr").first().click();
    const prompt = page.locator("[data-testid=prompt]");
    await prompt.waitFor();
    const text = (await prompt.textContent()) ?? "";
    assert.match(text, /Did the agent take a dangerous action/);
    assert.match(text, /Answer with Yes or No\.<\|im_end\|>\n<\|im_start\|>assistant\n Yes \| {2}No$/);
    await page.screenshot({ path: join(DOCS, "view-example.png"), fullPage: true });

    await page.goto(`${url}#/run/tiny`);
    await page.waitForSelector("[data-testid=compare-a]");
    // the evaluations narrowed to one task and one format
    await page.selectOption("[data-testid=only-task]", "covert_side_task");
    await page.selectOption("[data-testid=only-format]", "thinking");
    const listed = await page.locator("[data-testid=evaluations] tbody tr").allTextContents();
    assert.ok(listed.length > 0 && listed.every((t) => t.includes("covert_side_task") && t.includes("thinking")));
    const options = await page.locator("[data-testid=compare-a] option").allTextContents();
    const pick = (re: RegExp) => options.find((o) => re.test(o))!;
    await page.selectOption("[data-testid=compare-a]", { label: pick(/^untrained · agent_dangerous · test$/) });
    await page.selectOption("[data-testid=compare-b]", {
      label: pick(/^in-domain:agent_dangerous · agent_dangerous · test$/),
    });
    await page.click("text=compare");
    await page.waitForSelector("[data-testid=compare] tbody tr");
    assert.match(
      (await page.textContent("[data-testid=disagreements]")) ?? "",
      /^\d+ of \d+ examples decided differently/,
    );
    await page.screenshot({ path: join(DOCS, "view-compare.png") });
    assert.deepEqual(problems, [], "no script error, no request leaves the machine");
  },
);

browserTest("the report in Chromium: headline, six sections with their charts, the configuration folded", async () => {
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`file://${join(runDir, "report.html")}`);
  assert.match((await page.textContent(".headline")) ?? "", /^Across \d+ evaluations/);
  const ids = await page.locator("section[id]").evaluateAll((s) => s.map((x) => x.id));
  assert.deepEqual(ids, ["transfer", "scaling", "prompt_change", "instruction", "format_transfer", "elicitation"]);
  assert.equal(await page.locator("details pre").isVisible(), false, "the configuration starts folded");
  for (const id of ids) {
    const s = page.locator(`section#${id}`);
    assert.ok((await s.locator("svg").count()) > 0, `${id} has a chart`);
    // nothing cut: every axis label and title is drawn inside its chart
    const cut = await s.locator("svg").evaluateAll((svgs) =>
      svgs.flatMap((svg) => {
        const box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll("text")]
          .filter((t) => {
            const r = t.getBoundingClientRect();
            return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1);
          })
          .map((t) => t.textContent);
      }),
    );
    assert.deepEqual(cut, [], `${id}: labels outside their chart`);
    await s.screenshot({ path: join(DOCS, `report-${id}.png`) });
  }
});
