/**
 * The recipe study's export (studies/pretrain-recipe/recipe-study.ts) holds exactly the streams `crossmon pretrain` trains on, and
 * studies/pretrain-recipe/pretrain_study.py, where torch imports, trains from it and scores as crossmon's engine does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toyBase } from "../../test/train/toy-base.js";
import { exportPretrainStudy } from "./recipe-study.js";
import { referenceDocumentsFor } from "./reference-documents.js";
import {
  SHIPPED_RECIPE,
  TOY_RECIPE,
  instructPhaseStream,
  phaseSchedule,
  pretrainCorpusStream,
  readingPhaseStream,
} from "../../src/train/pretrain/index.js";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { Renderer } from "../../src/formats/render.js";
import { workerAvailable } from "../../src/backends/worker.js";
import { LocalBackend } from "../../src/backends/local.js";

const ROOT = join(import.meta.dirname, "..", "..");
const recipe = TOY_RECIPE;
const referenceDocuments = 20;
let exported: string | null = null;
function exportToy(): string {
  if (!exported) {
    exported = join(mkdtempSync(join(tmpdir(), "crossmon-study-")), "data");
    exportPretrainStudy({ model: toyBase(), out: exported, scale: 2, n: 8, recipe, referenceDocuments });
  }
  return exported;
}

function readStream(dir: string, name: string, table: number[]): { ids: number[]; weights: number[] } {
  const ids = new Uint16Array(new Uint8Array(execFileSync("xz", ["-dc", join(dir, `${name}.ids.u16.xz`)])).buffer);
  const codes = execFileSync("xz", ["-dc", join(dir, `${name}.w.u8.xz`)]);
  return { ids: Array.from(ids), weights: Array.from(codes, (c) => table[c]) };
}

test("recipe study export: the streams are crossmon pretrain's at the data scale, token for token and weight for weight", () => {
  const dir = exportToy();
  const r = JSON.parse(readFileSync(join(dir, "recipe.json"), "utf8"));
  const o = { ...SHIPPED_RECIPE, ...recipe };
  const scaled = {
    ...o,
    ifSize: o.ifSize * 2,
    readingSize: o.readingSize * 2,
    storySize: o.storySize * 2,
  };
  const documents = referenceDocumentsFor(o.seed, referenceDocuments * 2);
  assert.deepEqual(r.phases, phaseSchedule(o));
  assert.equal(r.data.worldPerDomain, o.worldPerDomain, "world texts stay at the recipe's count");
  const tok = HfTokenizer.load(toyBase());
  const renderer = new Renderer(tok, 1024);
  const corpus = pretrainCorpusStream(scaled, tok, renderer, documents.corpus);
  for (const [name, s] of [
    ["pretrain", corpus],
    ["instruct", instructPhaseStream(scaled, renderer)],
    ["reading", readingPhaseStream(scaled, renderer, documents.reading)],
  ] as const) {
    const got = readStream(dir, name, r.streams[name].weight_table);
    assert.equal(r.streams[name].tokens, s.ids.length, name);
    assert.deepEqual(got.ids, Array.from(s.ids), name);
    assert.deepEqual(got.weights, Array.from(s.weights), name);
  }
  // the documents at scale 2: 40 of them in the corpus
  assert.equal(corpus.counts.added_documents, 40);
  assert.equal(documents.reading.length, 10);
  const evals = JSON.parse(readFileSync(join(dir, "eval-w1.json"), "utf8")) as {
    task: string;
    prompts: number[][];
    labels: number[];
  }[];
  assert.equal(evals.length, 16);
  for (const t of evals) assert.ok(t.prompts.length === 8 && t.labels.length === 8, t.task);
});

const avail = workerAvailable();
test("recipe study in PyTorch: trains every phase from the export and scores as crossmon's engine does", {
  skip: avail.ok ? false : `no torch here: ${avail.reason}`,
}, async () => {
  const dir = exportToy();
  const out = mkdtempSync(join(tmpdir(), "crossmon-study-out-"));
  const python = process.env.CROSSMON_PYTHON ?? "python3";
  const p = spawnSync(
    python,
    [
      join(ROOT, "studies", "pretrain-recipe", "pretrain_study.py"),
      dir,
      out,
      "--tag",
      "t",
      "--rows",
      "2",
      "--mults",
      "1",
      "--max-steps",
      "2",
      "--budget-s",
      "1000",
      "--scores",
    ],
    { encoding: "utf8" },
  );
  assert.equal(p.status, 0, p.stderr);
  const result = JSON.parse(readFileSync(join(out, "t.result.json"), "utf8"));
  assert.deepEqual(Object.keys(result.evals).sort(), ["instruct", "reading"]);
  assert.deepEqual(
    result.plan.phases.map((x: { steps: number }) => x.steps),
    phaseSchedule({ ...SHIPPED_RECIPE, ...recipe }).map((x) => x.steps),
  );
  // the weights it wrote, in a model folder with the export's config and tokenizer, score the same in the engine
  const model = join(out, "model");
  mkdirSync(model);
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"])
    copyFileSync(join(dir, f), join(model, f));
  copyFileSync(join(out, "t.safetensors"), join(model, "model.safetensors"));
  const evals = JSON.parse(readFileSync(join(dir, "eval-w0.json"), "utf8")) as {
    task: string;
    prompts: number[][];
    candidates: number[];
  }[];
  const engine = new LocalBackend();
  for (const t of evals.slice(0, 4)) {
    const lp = await engine.score(
      { base: model },
      t.prompts.map((ids) => ({ ids })),
      t.candidates.map((id) => ({ id, text: "" })),
    );
    const ours = lp.map(([a, b]) => 1 / (1 + Math.exp(b - a)));
    const theirs = result.scores_w0[t.task] as number[];
    ours.forEach((x, i) => assert.ok(Math.abs(x - theirs[i]) < 1e-4, `${t.task}: ${x} vs ${theirs[i]}`));
  }
});
