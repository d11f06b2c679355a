/**
 * The pretraining corpus, built once and kept in the model's work/ folder (a resumed run after phase 1 never needs
 * it). The cache is a small binary file: the magic "CXMC", a format version, the token count, then the ids (int32)
 * and the loss weights (float32); corpus.json beside it says what went in. A file without the header, of another
 * version, cut short, or built with other reference documents than asked for is an error naming it, never a silent
 * reuse.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { InputError, readJsonAs } from "../../core/errors.js";
import type { HfTokenizer } from "../../engine/io/tokenizer.js";
import type { Renderer } from "../../formats/render.js";
import type { PretrainOptions } from "./recipe.js";
import { pretrainCorpusStream } from "./streams.js";

const MAGIC = "CXMC";
// 2: drawn from named seed streams (deriveSeed); a version-1 corpus holds other draws
const VERSION = 2;
const HEADER = 12;

const CorpusInfo = z.looseObject({
  tokens: z.number().int().nonnegative(),
  knowledge_documents: z.number().optional(),
});
const RecipeTokens = z.looseObject({ corpus_tokens: z.number().int().nonnegative().optional() });

export interface Corpus {
  ids: Int32Array;
  weights: Float32Array;
}

function readCache(file: string): Corpus {
  const buf = readFileSync(file);
  if (buf.length < HEADER || buf.toString("latin1", 0, 4) !== MAGIC)
    throw new InputError("not a crossmon corpus cache (no CXMC header; an older build?): delete it to rebuild", file);
  const version = buf.readUInt32LE(4);
  if (version !== VERSION)
    throw new InputError(`corpus cache version ${version}, this crossmon reads ${VERSION}: delete it to rebuild`, file);
  const n = buf.readUInt32LE(8);
  if (buf.length !== HEADER + 8 * n)
    throw new InputError(`corpus cache cut short (${buf.length} bytes for ${n} tokens): delete it to rebuild`, file);
  const at = buf.byteOffset + HEADER;
  return {
    ids: new Int32Array(buf.buffer.slice(at, at + 4 * n)),
    weights: new Float32Array(buf.buffer.slice(at + 4 * n, at + 8 * n)),
  };
}

function writeCache(file: string, c: Corpus): void {
  const head = Buffer.alloc(HEADER);
  head.write(MAGIC, 0, "latin1");
  head.writeUInt32LE(VERSION, 4);
  head.writeUInt32LE(c.ids.length, 8);
  writeFileSync(file, Buffer.concat([head, Buffer.from(c.ids.buffer), Buffer.from(c.weights.buffer)]));
}

type CorpusOptions = Pick<Required<PretrainOptions>, "seed" | "worldPerDomain" | "ifSize" | "readingSize">;

/** The corpus from work/, or built (and kept there) when it is not yet. */
export function loadOrBuildCorpus(
  work: string,
  o: CorpusOptions,
  tok: HfTokenizer,
  renderer: Renderer,
  log: (l: string) => void,
): Corpus {
  const file = join(work, "corpus.bin");
  const info = join(work, "corpus.json");
  if (existsSync(file)) {
    // a corpus built by version 0.2.0 with reference documents (an option since moved to studies/pretrain-recipe)
    // would be resumed silently without them: refuse instead
    const built = existsSync(info) ? (readJsonAs(CorpusInfo, info, "the corpus' summary").knowledge_documents ?? 0) : 0;
    if (built > 0)
      throw new InputError(
        `the corpus in this folder was built with ${built} reference documents, which the recipe no longer adds ` +
          "(studies/pretrain-recipe does); use another output folder",
        file,
      );
    return readCache(file);
  }
  log("building the corpus");
  const s = pretrainCorpusStream(o, tok, renderer);
  writeCache(file, s);
  writeFileSync(info, JSON.stringify({ tokens: s.ids.length, ...s.counts }, null, 2));
  log(`corpus: ${s.ids.length} tokens (${JSON.stringify(s.counts)})`);
  return s;
}

/** The corpus' size in tokens, from what a build wrote (corpus.json, or the model's recipe.json) before building it. */
export function corpusTokens(work: string, out: string, build: () => Corpus): number {
  const info = join(work, "corpus.json");
  if (existsSync(info)) return readJsonAs(CorpusInfo, info, "the corpus' summary").tokens;
  const recipe = join(out, "recipe.json");
  if (existsSync(recipe)) {
    const n = readJsonAs(RecipeTokens, recipe, "the model's recipe").corpus_tokens;
    if (n) return n;
  }
  return build().ids.length;
}
