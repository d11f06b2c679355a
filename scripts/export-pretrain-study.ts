/**
 * Exports what a from-scratch recipe study of the base model needs, for python/pretrain_study.py on a GPU machine
 * (no Node there): the three phases' token streams exactly as `crossmon pretrain` builds them, with the data sizes
 * multiplied by SCALE (conversations, questions and stories, other draws of the same generators; the world texts
 * as the recipe's), the recipe, and every built-in task's test prompts for world seeds 0 and 1 (as scripts/export-reading-phase.ts).
 * Streams are stored compactly so that a large one travels: ids as uint16 (the vocabulary has 4,096 tokens), loss
 * weights as uint8 codes into a table, each file xz-compressed.
 *   npx tsx scripts/export-pretrain-study.ts MODEL_DIR OUT_DIR [SCALE] [n] [KNOWLEDGE]
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HfTokenizer } from "../src/engine/io/tokenizer.js";
import { Renderer } from "../src/formats/render.js";
import { SHIPPED_RECIPE, instructPhaseStream, pretrainCorpusStream, readingPhaseStream } from "../src/train/pretrain.js";
import { buildWorld, DEFAULT_WORLD_SIZE } from "../src/data/world/index.js";
import { splitTasks } from "../src/data/splits.js";

const [model, out, scaleArg, nArg, knowledgeArg] = process.argv.slice(2);
if (!model || !out) throw new Error("usage: npx tsx scripts/export-pretrain-study.ts MODEL_DIR OUT_DIR [SCALE] [n] [KNOWLEDGE]");
const scale = Number(scaleArg ?? 1);
const n = Number(nArg ?? 300);
// reference documents about the world's vocabulary (src/data/world/knowledge.ts), before scaling; the recipe's own is 0
const knowledge = Number(knowledgeArg ?? SHIPPED_RECIPE.knowledgeSize);
mkdirSync(out, { recursive: true });
const tok = HfTokenizer.load(model);
const renderer = new Renderer(tok, 1024);
const r = SHIPPED_RECIPE;
// world texts as the recipe's: a domain's generator has only so many distinct texts (code changes: about 2,600 on its
// smaller side), and phase 1 already sees 3,000 of each domain
const o = { ...r, ifSize: r.ifSize * scale, readingSize: r.readingSize * scale, storySize: r.storySize * scale, knowledgeSize: knowledge * scale };

function save(name: string, s: { ids: Int32Array; weights: Float32Array }): Record<string, unknown> {
  const table: number[] = [];
  const codes = new Uint8Array(s.weights.length);
  s.weights.forEach((w, i) => {
    let c = table.indexOf(w);
    if (c < 0) {
      if (table.length === 255) throw new Error(`${name}: more than 255 distinct loss weights`);
      c = table.push(w) - 1;
    }
    codes[i] = c;
  });
  const ids = Uint16Array.from(s.ids, (id) => {
    if (id > 65535) throw new Error(`${name}: token id ${id} does not fit in uint16`);
    return id;
  });
  writeFileSync(join(out, `${name}.ids.u16`), ids);
  writeFileSync(join(out, `${name}.w.u8`), codes);
  execFileSync("xz", ["-f", "-6", "-T2", join(out, `${name}.ids.u16`), join(out, `${name}.w.u8`)]);
  console.log(`${name}: ${s.ids.length} tokens`);
  return { tokens: s.ids.length, weight_table: table };
}

const streams = {
  pretrain: save("pretrain", pretrainCorpusStream(o, tok, renderer)),
  instruct: save("instruct", instructPhaseStream(o, renderer)),
  reading: save("reading", readingPhaseStream(o, renderer)),
};
const phases = [
  { name: "pretrain", steps: r.steps, lr: r.lr, warmup: Math.min(200, Math.floor(r.steps / 10)) },
  { name: "instruct", steps: r.instructSteps, lr: r.instructLr, warmup: Math.floor(r.instructSteps / 20) },
  { name: "reading", steps: r.readingSteps, lr: r.readingLr, warmup: Math.floor(r.readingSteps / 20) },
];
writeFileSync(join(out, "recipe.json"), JSON.stringify({ scale, data: o, phases, streams, seqLen: r.seqLen, rowsPerStep: r.rowsPerStep, minRatio: 0.1, weightDecay: 0.1, maxGradNorm: 1, initStd: 0.02 }, null, 2));
for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) execFileSync("cp", [join(model, f), join(out, f)]);

for (const seed of [0, 1]) {
  const tasks = splitTasks(buildWorld({ seed, size: DEFAULT_WORLD_SIZE }), 0).map((sp) => {
    const ex = sp.test.slice(0, n);
    const rs = ex.map((e) => renderer.singleToken(sp.task, e));
    return { task: sp.task.id, candidates: rs[0].candidates, prompts: rs.map((x) => x.promptIds), labels: ex.map((e) => (e.label ? 1 : 0)) };
  });
  writeFileSync(join(out, `eval-w${seed}.json`), JSON.stringify(tasks));
  console.log(`world ${seed}: ${tasks.length} tasks, ${tasks.reduce((a, t) => a + t.prompts.length, 0)} prompts`);
}
