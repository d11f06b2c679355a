/**
 * Exports for recipe studies of the base model on a GPU machine (studies/reading-phase/reading_phase_study.py and
 * studies/pretrain-recipe/pretrain_study.py; no Node there): the phases' token streams exactly as `crossmon pretrain` builds them, and
 * every built-in task's single-token test prompts, rendered by crossmon's renderer, to score models as `crossmon eval`
 * does.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { referenceDocumentsFor } from "./reference-documents.js";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { Renderer } from "../../src/formats/render.js";
import { buildWorld, DEFAULT_WORLD_SIZE } from "../../src/data/world/index.js";
import { splitTasks } from "../../src/data/splits.js";
import {
  SHIPPED_RECIPE,
  instructPhaseStream,
  phaseSchedule,
  pretrainCorpusStream,
  readingPhaseStream,
  type PretrainOptions,
} from "../../src/train/pretrain/index.js";

/** eval-w<seed>.json: per task, the first n test examples' prompt ids, the two answer ids and the labels. */
export function writeEvalPrompts(renderer: Renderer, out: string, n: number, seeds = [0, 1]): void {
  for (const seed of seeds) {
    const tasks = splitTasks(buildWorld({ seed, size: DEFAULT_WORLD_SIZE }), 0).map((sp) => {
      const ex = sp.test.slice(0, n);
      const rs = ex.map((e) => renderer.singleToken(sp.task, e));
      return {
        task: sp.task.id,
        candidates: rs[0].candidates,
        prompts: rs.map((x) => x.promptIds),
        labels: ex.map((e) => (e.label ? 1 : 0)),
      };
    });
    writeFileSync(join(out, `eval-w${seed}.json`), JSON.stringify(tasks));
  }
}

/**
 * A stream stored compactly, so that a large one travels: ids as uint16, loss weights as uint8 codes into a table,
 * each file xz-compressed (NAME.ids.u16.xz, NAME.w.u8.xz).
 */
function writeStream(
  out: string,
  name: string,
  s: { ids: Int32Array; weights: Float32Array },
): { tokens: number; weight_table: number[] } {
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
  return { tokens: s.ids.length, weight_table: table };
}

export interface PretrainStudyOptions {
  /** the base model folder whose tokenizer and config the study uses */
  model: string;
  out: string;
  /** conversations, questions and stories drawn SCALE times as many (other draws of the same generators); the world
   * texts stay at the recipe's count: a domain's generator has only so many distinct texts (code changes: about 2,600
   * on its smaller side) */
  scale?: number;
  /** test prompts per task */
  n?: number;
  /** the recipe, or changes to it */
  recipe?: Omit<PretrainOptions, "out">;
  /** reference documents about the world's vocabulary (./reference-documents.ts) added to the corpus, before scaling;
   * a quarter as many again in the reading phase (0: the recipe as `crossmon pretrain` runs it) */
  referenceDocuments?: number;
  log?: (line: string) => void;
}

/** Everything studies/pretrain-recipe/pretrain_study.py needs to run the whole recipe from random weights. */
export function exportPretrainStudy(o: PretrainStudyOptions): void {
  const scale = o.scale ?? 1;
  const log = o.log ?? (() => {});
  const r = { ...SHIPPED_RECIPE, ...o.recipe };
  const data = {
    ...r,
    ifSize: r.ifSize * scale,
    readingSize: r.readingSize * scale,
    storySize: r.storySize * scale,
    referenceDocuments: (o.referenceDocuments ?? 0) * scale,
  };
  const documents = referenceDocumentsFor(r.seed, data.referenceDocuments);
  mkdirSync(o.out, { recursive: true });
  const tok = HfTokenizer.load(o.model);
  const renderer = new Renderer(tok, 1024);
  const streams = {
    pretrain: writeStream(o.out, "pretrain", pretrainCorpusStream(data, tok, renderer, documents.corpus)),
    instruct: writeStream(o.out, "instruct", instructPhaseStream(data, renderer)),
    reading: writeStream(o.out, "reading", readingPhaseStream(data, renderer, documents.reading)),
  };
  for (const [name, s] of Object.entries(streams)) log(`${name}: ${s.tokens} tokens`);
  writeFileSync(
    join(o.out, "recipe.json"),
    JSON.stringify(
      {
        scale,
        data,
        phases: phaseSchedule(r),
        streams,
        seqLen: r.seqLen,
        rowsPerStep: r.rowsPerStep,
        minRatio: 0.1,
        weightDecay: 0.1,
        maxGradNorm: 1,
        initStd: 0.02,
      },
      null,
      2,
    ),
  );
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"])
    copyFileSync(join(o.model, f), join(o.out, f));
  writeEvalPrompts(renderer, o.out, o.n ?? 300);
}
