/**
 * Where tasks come from: Hugging Face datasets by hf:// name (pulled from a loopback hub into the cache, then read with
 * a manifest's column map and splits), and the built-in world beside users' tasks in one spec.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parquetWriteBuffer } from "hyparquet-writer";
import { loadPath, loadTasks } from "../../src/data/loaders/load.js";
import { formatProblem } from "../../src/data/problems.js";
import { loadSources } from "../../src/data/sources.js";
import { parseDatasetUri } from "../../src/hub/dataset.js";
import { FakeHub } from "../hub/fake-hub.js";

const ROOT = join(import.meta.dirname, "..", "..");
const repo = mkdtempSync(join(tmpdir(), "crossmon-imdb-"));
const home = mkdtempSync(join(tmpdir(), "crossmon-hfhome-"));
const work = mkdtempSync(join(tmpdir(), "crossmon-sources-"));
let hub: FakeHub;

// IMDB's layout on the hub: one folder per config, one Parquet file per split; label 1 = pos, 0 = neg, -1 = unlabelled
function split(name: string, labels: number[]): void {
  const texts = labels.map((l, i) => `${name} review ${i}: ${l === 1 ? "a wonderful film" : "a dull film"}`);
  const columnData = [
    { name: "text", data: texts },
    { name: "label", data: labels.map(BigInt), type: "INT64" as const },
  ];
  writeFileSync(
    join(repo, "plain_text", `${name}-00000-of-00001.parquet`),
    new Uint8Array(parquetWriteBuffer({ columnData })),
  );
}

before(async () => {
  mkdirSync(join(repo, "plain_text"));
  split("train", [1, 0, 1, 0, 1, 0]);
  split("test", [0, 1, 0, 1]);
  split("unsupervised", [-1, -1]);
  writeFileSync(join(repo, "README.md"), "---\nconfigs: [plain_text]\n---\n# imdb\n");
  hub = new FakeHub([{ type: "dataset", id: "stanfordnlp/imdb", dir: repo }]);
  const endpoint = await hub.start();
  process.env.HF_HOME = home;
  // the hub answers from this process: the pull runs beside it, not blocking it
  const p = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "pull", "stanfordnlp/imdb", "--dataset", "--quiet"],
    { env: { ...process.env, HF_HOME: home, HF_ENDPOINT: endpoint, HF_HUB_CACHE: undefined } },
  );
  let stderr = "";
  p.stderr.on("data", (d) => (stderr += d));
  const status = await new Promise((ok) => p.on("close", ok));
  assert.equal(status, 0, stderr);
});
after(() => hub.close());

const manifest = (name: string, body: string) => {
  const d = join(work, name);
  mkdirSync(d);
  writeFileSync(join(d, "crossmon.yaml"), body);
  return d;
};
const imdb = (extra: string) =>
  `tasks:\n  - id: imdb_positive\n    domain: reviews\n    prompt: "Is this review positive?\\n{text}"\n` +
  `    file: hf://datasets/stanfordnlp/imdb/plain_text\n    text_column: text\n    label_column: label\n${extra}`;

test("hf:// names parse as huggingface_hub's file system writes them", () => {
  assert.deepEqual(parseDatasetUri("hf://datasets/stanfordnlp/imdb"), {
    ref: { type: "dataset", id: "stanfordnlp/imdb", revision: "main" },
    path: "",
  });
  assert.deepEqual(
    parseDatasetUri("hf://datasets/org/set@refs%2Fconvert%2Fparquet/default/train").ref.revision,
    "refs/convert/parquet",
  );
  assert.throws(() => parseDatasetUri("hf://datasets/imdb"), /needs an organisation and a name/);
  assert.throws(() => parseDatasetUri("hf://datasets/a/b/../../etc"), /may not climb out/);
});

test("a pulled dataset loads by hf:// name with the manifest's column map and splits", async () => {
  const d = manifest("imdb", imdb("    positive: 1\n    negative: 0\n    splits: [train, test]\n"));
  const [t] = await loadTasks(d);
  assert.equal(t.source, "hf://datasets/stanfordnlp/imdb/plain_text");
  assert.equal(t.examples.length, 10, "train and test, not the unlabelled split");
  for (const e of t.examples) assert.equal(e.label, e.text!.includes("wonderful"));
  // -1 is neither positive nor negative: without the splits, each such row is named
  const all = await loadPath(manifest("imdb-all", imdb("    positive: 1\n    negative: 0\n")));
  assert.equal(all.problems.count, 2);
  assert.match(
    formatProblem(all.problems.items[0]),
    /unsupervised-00000-of-00001\.parquet:row 1: field "label": -1 is neither/,
  );
  // one-vs-rest: every value but the positive one is negative
  const [ovr] = await loadTasks(manifest("imdb-ovr", imdb("    positive: 1\n")));
  assert.deepEqual([ovr.examples.length, ovr.examples.filter((e) => e.label).length], [12, 5]);
});

test("a dataset that is not in the cache, or a config it lacks, is an error naming the fix", async () => {
  const missing = await loadPath(manifest("missing", imdb("").replace("stanfordnlp/imdb", "acme/nothing")));
  assert.match(
    formatProblem(missing.problems.items[0]),
    /not in the Hugging Face cache .*crossmon pull acme\/nothing --dataset/,
  );
  const r = await loadPath("hf://datasets/stanfordnlp/imdb/no_such_config");
  assert.match(
    formatProblem(r.problems.items[0]),
    /no "no_such_config" in the dataset \(it holds README\.md, plain_text\)/,
  );
});

test("the built-in world and users' tasks in one spec; an id given twice is an error naming both", async () => {
  const own = join(work, "own.jsonl");
  const row = (id: string, label: number) =>
    JSON.stringify({ task: "my_monitor", domain: "agent", prompt: "Harm?\n{text}", id, text: `t ${id}`, label });
  writeFileSync(own, `${[row("a", 1), row("b", 0)].join("\n")}\n`);
  const tasks = await loadSources({ world: { seed: 0, size: 20 }, tasks: [own] });
  const ids = tasks.map((t) => t.id);
  assert.ok(ids.includes("cyber_harm") && ids.includes("chem_harm") && ids.includes("my_monitor"));
  assert.ok(!(await loadSources({ tasks: own })).some((t) => t.id === "cyber_harm"), "no world unless named");
  const clash = join(work, "clash.jsonl");
  writeFileSync(
    clash,
    `${JSON.stringify({ task: "cyber_harm", domain: "x", prompt: "{text}", text: "x", label: 1 })}\n`,
  );
  await assert.rejects(
    loadSources({ world: { seed: 0, size: 20 }, tasks: clash }),
    /task id "cyber_harm" comes from both builtin:world\(seed=0,size=20\) and .*clash\.jsonl/,
  );
});
