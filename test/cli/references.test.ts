/**
 * The generated references are current: docs/cli.md is every command's help, schemas/*.schema.json the specs' JSON
 * Schemas (regenerate with `npm run docs`); the examples name their schema, and validate against it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { benchmarksPage, generatedReferences } from "../../src/cli/reference.js";

const ROOT = join(import.meta.dirname, "..", "..");

test("docs/cli.md and schemas/ are what the code generates (npm run docs)", () => {
  for (const [path, text] of Object.entries(generatedReferences()))
    assert.equal(readFileSync(join(ROOT, path), "utf8"), text, `${path} is stale: run npm run docs`);
});

test("each example names its spec's schema on its first line, and the schema knows its fields", () => {
  const cases: [string, string][] = [
    ["examples/experiment.yaml", "experiment"],
    ["examples/transfer-to-inspect.yaml", "experiment"],
    ["examples/train.yaml", "train"],
  ];
  for (const [file, kind] of cases) {
    const text = readFileSync(join(ROOT, file), "utf8");
    assert.equal(text.split("\n")[0], `# yaml-language-server: $schema=../schemas/${kind}.schema.json`, file);
    const schema = JSON.parse(readFileSync(join(ROOT, "schemas", `${kind}.schema.json`), "utf8"));
    // every top-level field the example writes is one the schema declares (and it allows no others)
    assert.equal(schema.additionalProperties, false);
    for (const k of Object.keys(YAML.parse(text))) assert.ok(k in schema.properties, `${file}: ${k}`);
  }
  const exp = JSON.parse(readFileSync(join(ROOT, "schemas", "experiment.schema.json"), "utf8"));
  assert.ok("replicates" in exp.properties.experiments.properties.transfer.properties);
});

test("docs/api is TypeDoc's reference of the library (src/index.ts) as the code stands", () => {
  const out = mkdtempSync(join(tmpdir(), "crossmon-api-"));
  const bin = join(ROOT, "node_modules", "typedoc", "bin", "typedoc");
  const r = spawnSync(process.execPath, [bin, "--out", out], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const list = (dir: string) => readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
  const files = list(out);
  assert.deepEqual(list(join(ROOT, "docs", "api")), files, "docs/api's files: run npm run docs");
  for (const f of files.filter((x) => x.endsWith(".md")))
    assert.equal(readFileSync(join(ROOT, "docs", "api", f), "utf8"), readFileSync(join(out, f), "utf8"), f);
  assert.ok(
    files.some((f) => /auroc/i.test(f)),
    "the API's auroc is documented",
  );
});

test("the benchmarks page leads with the user shapes' goals and rows (commit, CPU and threads on each) from peers.json", () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-bench-results-"));
  const row = {
    shape: "qwen3-1.7b-shape",
    work: "prefill 4096",
    crossmon_tok_s: 145.87,
    llama_cpp_bf16_tok_s: 30.1,
    llama_cpp_q8_0_tok_s: null,
    torch_bf16_tok_s: 80.2,
    vs_torch: 1.819,
    vs_llama_cpp_q8_0: null,
    crossmon_peak_rss_mib: 3470,
    torch_peak_rss_mib: 4100,
    weights_mib: 2705,
    commit: "abc1234",
    cpu: "Some CPU",
    threads: 2,
  };
  const record = { bf16_prefill_vs_torch: 1.819, long_prefill_ratio: 0.76, user_shape_table: [row] };
  const meta = { bench: "peers", args: ["--rounds", "2"], commit: "abc1234", cpu: "Some CPU", cores: 2, date: "d" };
  writeFileSync(join(dir, "peers.json"), JSON.stringify({ ...meta, node: "v20", records: [record] }));
  const page = benchmarksPage(dir);
  const section = page.slice(page.indexOf("## Speed at the shapes users bring"), page.indexOf("## peers"));
  assert.ok(section.startsWith("## Speed at the shapes users bring"), page);
  assert.match(section, /`npm run bench -- peers --rounds 2`/);
  assert.match(section, /\| bf16_prefill_vs_torch \| 1\.819 \| ≥ 1\.5/);
  assert.match(section, /\| bf16_lora_train_vs_torch \| – \|/);
  assert.match(
    section,
    /\| qwen3-1\.7b-shape \| prefill 4096 \| 145\.9 \| 30\.1 \| – \| 80\.2 \| 1\.819 \| – \| 3470 \| 4100 \| 2705 \| abc1234 \| Some CPU \| 2 \|/,
  );
  writeFileSync(join(dir, "peers.json"), JSON.stringify({ ...meta, node: "v20", records: [{ threads: 2 }] }));
  assert.ok(!benchmarksPage(dir).includes("## Speed at the shapes users bring"));
});
