/**
 * `crossmon pretrain`: the base model of the built-in study, trained from scratch: a byte-level BPE tokenizer with a
 * chat template, then a small Llama-family model on the world's texts (other seeds than the evaluation world),
 * instruction-following conversations and yes/no reading questions in the classification layouts. It never sees an
 * evaluation task's question, let alone its labels: it plays the paper's "prompted model before monitor training".
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHfConfig, parseConfig } from "../engine/config.js";
import { saveModel } from "../engine/io/checkpoint.js";
import { HfTokenizer } from "../engine/io/tokenizer.js";
import { Transformer } from "../engine/model.js";
import { setTrainable } from "../engine/params.js";
import { Rng } from "../core/random.js";
import { nativeKernels } from "../engine/kernels/index.js";
import type { WeightedSequence } from "../engine/sequences.js";
import { generateWorldTexts } from "../data/world/index.js";
import { generateInstructionData } from "../data/world/instructions.js";
import {
  generateComprehensionQuestions,
  generateReadingQuestions,
  type ReadingQuestion,
} from "../data/world/reading.js";
import { generateStoryQuestions } from "../data/world/stories.js";
import { generateKnowledgeDocuments } from "../data/world/knowledge.js";
import { readSafetensors } from "../engine/io/safetensors.js";
import { InputError } from "../core/errors.js";
import { DEFAULT_ANSWERS, DEFAULT_LABELS, type Task } from "../data/task.js";
import { trainBpe, tokenizerJson } from "../formats/bpe.js";
import { Renderer } from "../formats/render.js";
import { runLoop, type LoopResult } from "./loop.js";

export const CHAT_TEMPLATE =
  "{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + " +
  "'\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";
export const SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

export interface PretrainOptions {
  out: string;
  seed?: number;
  vocabSize?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  seqLen?: number;
  rowsPerStep?: number;
  microRows?: number;
  steps?: number;
  lr?: number;
  worldPerDomain?: number;
  ifSize?: number;
  readingSize?: number;
  /** the instruction phase after pretraining: steps on IF, reading and comprehension data only */
  instructSteps?: number;
  instructLr?: number;
  /** the reading phase after that: stories with concept questions, and reading questions asked both ways */
  readingSteps?: number;
  readingLr?: number;
  storySize?: number;
  /** in the reading phase: the share of questions in the thinking layout (the rest single-token), and the loss weight
   * of a single-token answer (one token against a thinking trace's dozens: without it, answers are ~1% of the loss) */
  readingThinkingShare?: number;
  readingAnswerWeight?: number;
  /** reference documents about the world's vocabulary (src/data/world/knowledge.ts) in the pretraining corpus; a
   * quarter as many again in the reading phase */
  knowledgeSize?: number;
  minutes?: number;
  quiet?: boolean;
  log?: (line: string) => void;
}

export const SHIPPED_RECIPE: Required<Omit<PretrainOptions, "out" | "minutes" | "quiet" | "log">> = {
  seed: 1,
  vocabSize: 4096,
  hidden: 256,
  layers: 6,
  heads: 4,
  kvHeads: 2,
  intermediate: 768,
  seqLen: 256,
  rowsPerStep: 16,
  microRows: 8,
  steps: 3000,
  lr: 2e-3,
  worldPerDomain: 3000,
  ifSize: 24000,
  readingSize: 24000,
  instructSteps: 600,
  instructLr: 5e-4,
  // the reading phase: at a lower learning rate, mostly single-token questions whose answers carry a loss weight of
  // 16 (at weight 1 and half thinking traces, answers were ~1% of the loss and stories stayed at chance: see
  // models/crossmon-base/README.md, "How this model was chosen")
  readingSteps: 2000,
  readingLr: 3e-4,
  storySize: 24000,
  readingThinkingShare: 0.1,
  readingAnswerWeight: 16,
  // the shipped model was built without them; tried with them on a GPU (models/crossmon-base/README.md, "The whole
  // recipe at a larger budget, and with reference documents")
  knowledgeSize: 0,
};

/** A toy-sized run of the same recipe (seconds), for tests and `crossmon pretrain --toy`. */
export const TOY_RECIPE: Omit<PretrainOptions, "out"> = {
  hidden: 32,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  intermediate: 64,
  worldPerDomain: 30,
  ifSize: 100,
  readingSize: 100,
  vocabSize: 600,
  seqLen: 64,
  rowsPerStep: 4,
  microRows: 4,
  steps: 3,
  instructSteps: 2,
  readingSteps: 2,
  storySize: 60,
};

export type PhaseName = "pretrain" | "instruct" | "reading";

/**
 * The three phases' steps, peak learning rates and warm-ups: (1) pretraining on the corpus; (2) the instruction phase,
 * IF conversations, reading and comprehension questions only, at a lower learning rate; (3) the reading phase,
 * everyday concepts on stories and reading questions asked both ways (half negated), so that the answer depends on
 * the question: the general reading a base model brings to a monitoring question.
 */
export function phaseSchedule(
  o: Pick<Required<PretrainOptions>, "steps" | "lr" | "instructSteps" | "instructLr" | "readingSteps" | "readingLr">,
): { name: PhaseName; steps: number; lr: number; warmup: number }[] {
  return [
    { name: "pretrain", steps: o.steps, lr: o.lr, warmup: Math.min(200, Math.floor(o.steps / 10)) },
    { name: "instruct", steps: o.instructSteps, lr: o.instructLr, warmup: Math.floor(o.instructSteps / 20) },
    { name: "reading", steps: o.readingSteps, lr: o.readingLr, warmup: Math.floor(o.readingSteps / 20) },
  ];
}

interface Phase {
  name: PhaseName;
  /** its place in the full recipe (work/phase<n+1>), whichever phases are switched off */
  n: number;
  steps: number;
  lr: number;
  warmup: number;
  stream: () => { ids: Int32Array; weights: Float32Array };
}

/** The training curve of every phase: its metrics file, or (when a phase's work folder is gone) the rows an earlier
 * build wrote for it, so a model finished in several sittings keeps its whole curve. */
function trainingCurve(out: string, phases: { name: string; metrics: string }[]): string {
  const previous = existsSync(join(out, "training_curve.jsonl"))
    ? readFileSync(join(out, "training_curve.jsonl"), "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { phase: string })
    : [];
  const rows = phases.flatMap((p) =>
    existsSync(p.metrics)
      ? readFileSync(p.metrics, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => ({ phase: p.name, ...JSON.parse(l) }))
      : previous.filter((r) => r.phase === p.name),
  );
  return `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;
}

function writeTokenizer(dir: string, texts: string[], vocabSize: number): void {
  const bpe = trainBpe(texts, { vocabSize, specialTokens: SPECIAL_TOKENS, minFrequency: 2 });
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson(bpe)));
  const added = Object.fromEntries(
    SPECIAL_TOKENS.map((t) => [
      String(bpe.vocab.get(t)),
      { content: t, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
    ]),
  );
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify(
      {
        tokenizer_class: "PreTrainedTokenizerFast",
        chat_template: CHAT_TEMPLATE,
        eos_token: "<|im_end|>",
        pad_token: "<|endoftext|>",
        bos_token: null,
        unk_token: null,
        add_bos_token: false,
        added_tokens_decoder: added,
        model_max_length: 1024,
        clean_up_tokenization_spaces: false,
      },
      null,
      2,
    ),
  );
}

/** A yes/no question rendered in the single-token or the thinking layout (half each, by the given draw). */
function readingSequence(
  renderer: Renderer,
  q: ReadingQuestion,
  thinking: boolean,
  answerWeight = 1,
): WeightedSequence {
  const task: Task = {
    id: "reading",
    domain: "reading",
    prompt: q.prompt,
    labels: { ...DEFAULT_LABELS },
    answers: { ...DEFAULT_ANSWERS },
    examples: [],
    source: "pretrain",
  };
  const e = { id: q.id, text: q.text, label: q.answer };
  if (thinking) return renderer.thinkingTrain(task, e, q.reasoning);
  const t = renderer.singleToken(task, e).train;
  return answerWeight === 1 ? t : { ...t, weights: t.weights.map((w) => w * answerWeight) };
}

/** Sequences shuffled by seed into one stream of (token, loss weight); the first token of each carries no loss. */
function toStream(seqs: WeightedSequence[], rng: Rng): { ids: Int32Array; weights: Float32Array } {
  rng.shuffle(seqs);
  const total = seqs.reduce((s, q) => s + q.ids.length, 0);
  const ids = new Int32Array(total),
    weights = new Float32Array(total);
  let at = 0;
  for (const s of seqs) {
    ids.set(Array.from(s.ids), at);
    weights.set(
      Array.from(s.weights, (w, i) => (i === 0 ? 0 : w)),
      at,
    );
    at += s.ids.length;
  }
  return { ids, weights };
}

/** The reading phase's stream: everyday concepts on stories, and reading questions asked both ways (half negated), so
 * that the answer depends on the question. Exported so that a recipe study (studies/reading-phase/export.ts) trains
 * on exactly the tokens `crossmon pretrain` does. */
export function readingPhaseStream(
  o: Pick<
    Required<PretrainOptions>,
    "seed" | "storySize" | "readingSize" | "ifSize" | "readingThinkingShare" | "readingAnswerWeight" | "knowledgeSize"
  >,
  renderer: Renderer,
): { ids: Int32Array; weights: Float32Array } {
  const rng = new Rng(o.seed + 11);
  const readingQuestion = (q: ReadingQuestion) =>
    readingSequence(renderer, q, rng.next() < o.readingThinkingShare, o.readingAnswerWeight);
  return toStream(
    [
      ...generateStoryQuestions({ seed: o.seed * 19 + 2, size: o.storySize }).map(readingQuestion),
      ...generateComprehensionQuestions({ seed: o.seed * 13 + 2, size: Math.round(o.readingSize / 2), flip: true }).map(
        readingQuestion,
      ),
      ...generateReadingQuestions({ seed: o.seed * 17 + 5, size: Math.round(o.readingSize / 4), flip: true }).map(
        readingQuestion,
      ),
      ...generateInstructionData({ seed: o.seed * 31 + 7, size: Math.round(o.ifSize / 8) }).map((c) =>
        renderer.conversation(c.messages),
      ),
      ...generateKnowledgeDocuments({ seed: o.seed * 23 + 2, size: Math.round(o.knowledgeSize / 4) }).map((d) =>
        plainText(renderer.tok, d),
      ),
    ],
    rng,
  );
}

/** A plain document for the language-model loss on every token, ended by <|endoftext|>. */
function plainText(tok: HfTokenizer, text: string): WeightedSequence {
  const ids = [...tok.encode(text), tok.tokenId("<|endoftext|>")!];
  return { ids, weights: ids.map(() => 1) };
}

/** The instruction phase's stream: IF conversations, reading and comprehension questions (half thinking). */
export function instructPhaseStream(
  o: Pick<Required<PretrainOptions>, "seed" | "ifSize" | "readingSize">,
  renderer: Renderer,
): { ids: Int32Array; weights: Float32Array } {
  const rng = new Rng(o.seed + 7);
  const question = (q: ReadingQuestion) => readingSequence(renderer, q, rng.next() >= 0.5);
  return toStream(
    [
      ...generateInstructionData({ seed: o.seed * 31 + 6, size: Math.round(o.ifSize / 2) }).map((c) =>
        renderer.conversation(c.messages),
      ),
      ...generateReadingQuestions({ seed: o.seed * 17 + 4, size: Math.round(o.readingSize / 2) }).map(question),
      ...generateComprehensionQuestions({ seed: o.seed * 13 + 1, size: o.readingSize }).map(question),
    ],
    rng,
  );
}

/** The pretraining corpus as one stream of (token, loss weight), packed into rows later. Exported for recipe studies
 * (studies/pretrain-recipe/export.ts), which train on exactly these tokens. */
export function pretrainCorpusStream(
  o: Pick<Required<PretrainOptions>, "seed" | "worldPerDomain" | "ifSize" | "readingSize" | "knowledgeSize">,
  tok: HfTokenizer,
  renderer: Renderer,
): { ids: Int32Array; weights: Float32Array; counts: Record<string, number> } {
  const rng = new Rng(o.seed);
  const docs = generateWorldTexts({ seed: o.seed * 7919 + 13, size: o.worldPerDomain }).flatMap((d) =>
    d.texts.map((t) => t.text),
  );
  const knowledge = generateKnowledgeDocuments({ seed: o.seed * 23 + 1, size: o.knowledgeSize });
  const ifData = generateInstructionData({ seed: o.seed * 31 + 5, size: o.ifSize });
  const reading = generateReadingQuestions({ seed: o.seed * 17 + 3, size: o.readingSize });
  const seqs: WeightedSequence[] = [];
  const counts = {
    documents: docs.length,
    knowledge_documents: knowledge.length,
    if_conversations: ifData.length,
    reading_single_token: 0,
    reading_thinking: 0,
  };
  for (const d of [...docs, ...knowledge]) seqs.push(plainText(tok, d));
  for (const c of ifData) seqs.push(renderer.conversation(c.messages));
  for (const q of reading) {
    const thinking = rng.next() >= 0.5;
    seqs.push(readingSequence(renderer, q, thinking));
    if (thinking) counts.reading_thinking++;
    else counts.reading_single_token++;
  }
  return { ...toStream(seqs, rng), counts };
}

/** Rows of seqLen+1 tokens cut from a packed stream, in a seeded order, rowsPerStep per step in micro-batches. */
export function packedBatches(
  ids: Int32Array,
  weights: Float32Array,
  o: { seqLen: number; rowsPerStep: number; microRows: number },
  seed: number,
) {
  const L = o.seqLen;
  const rows = Math.floor((ids.length - 1) / L);
  const order = new Rng(seed).shuffle(Array.from({ length: rows }, (_, i) => i));
  const rowSeq = (r: number): WeightedSequence => ({
    ids: ids.subarray(r * L, r * L + L + 1),
    weights: weights.subarray(r * L, r * L + L + 1),
  });
  return (step: number): WeightedSequence[][] => {
    const mbs: WeightedSequence[][] = [];
    for (let m = 0; m < o.rowsPerStep; m += o.microRows) {
      const mb: WeightedSequence[] = [];
      for (let k = m; k < Math.min(o.rowsPerStep, m + o.microRows); k++)
        mb.push(rowSeq(order[(step * o.rowsPerStep + k) % rows]));
      mbs.push(mb);
    }
    return mbs;
  };
}

/**
 * What the weights depend on besides the recipe: with OpenBLAS, the thread count (its sums are split by thread; the
 * own GEMM's are not), so a rebuild reproduces the weights bit for bit on the same kernels, GEMM and thread count.
 */
function engineOf(): Record<string, unknown> {
  const info = nativeKernels()?.info();
  return info
    ? { kernels: "native", threads: info.threads, gemm: info.gemm, simd: info.simd }
    : { kernels: "reference" };
}

export interface PretrainResult {
  dir: string;
  loop: LoopResult;
  parameters: number;
  corpusTokens: number;
}

export function pretrain(opts: PretrainOptions): PretrainResult {
  const o = {
    ...SHIPPED_RECIPE,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
  } as Required<PretrainOptions>;
  const log = o.log ?? (() => {});
  mkdirSync(o.out, { recursive: true });
  const work = join(o.out, "work");
  mkdirSync(work, { recursive: true });
  if (!existsSync(join(o.out, "tokenizer.json"))) {
    log("training the tokenizer");
    const sample = [
      ...generateWorldTexts({ seed: o.seed * 7919 + 13, size: Math.min(o.worldPerDomain, 1500) }).flatMap((d) =>
        d.texts.map((t) => t.text),
      ),
      ...generateInstructionData({ seed: o.seed * 31 + 5, size: Math.min(o.ifSize, 4000) }).flatMap((c) =>
        c.messages.map((m) => m.content),
      ),
      // the layouts' own words, so answers and markers are single tokens
      ...Array.from(
        { length: 200 },
        () => "Answer with Yes or No.\n Yes\n No\nVerdict: Yes\nVerdict: No\nThink step by step, then finish with",
      ),
    ];
    writeTokenizer(o.out, sample, o.vocabSize);
  }
  const tok = HfTokenizer.load(o.out);
  const renderer = new Renderer(tok, 1024);
  const streamFile = join(work, "corpus.bin");
  // the pretraining corpus, built once and kept in work/ (a resumed run after phase 1 never needs it)
  const corpus = (): { ids: Int32Array; weights: Float32Array } => {
    if (existsSync(streamFile)) {
      // a corpus built with other reference documents than asked for now would be used silently: refuse instead
      const built = existsSync(join(work, "corpus.json"))
        ? ((JSON.parse(readFileSync(join(work, "corpus.json"), "utf8")) as { knowledge_documents?: number })
            .knowledge_documents ?? 0)
        : 0;
      if (built !== o.knowledgeSize)
        throw new InputError(
          `the corpus in this folder was built with ${built} reference documents, not ${o.knowledgeSize}; use ` +
            `another output folder`,
          streamFile,
        );
      const buf = readFileSync(streamFile);
      const n = buf.readUInt32LE(0);
      return {
        ids: new Int32Array(buf.buffer.slice(buf.byteOffset + 4, buf.byteOffset + 4 + 4 * n)),
        weights: new Float32Array(buf.buffer.slice(buf.byteOffset + 4 + 4 * n, buf.byteOffset + 4 + 8 * n)),
      };
    }
    log("building the corpus");
    const s = pretrainCorpusStream(o, tok, renderer);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(s.ids.length);
    writeFileSync(streamFile, Buffer.concat([head, Buffer.from(s.ids.buffer), Buffer.from(s.weights.buffer)]));
    writeFileSync(join(work, "corpus.json"), JSON.stringify({ tokens: s.ids.length, ...s.counts }, null, 2));
    log(`corpus: ${s.ids.length} tokens (${JSON.stringify(s.counts)})`);
    return s;
  };
  const corpusTokens = (): number => {
    for (const f of [join(work, "corpus.json"), join(o.out, "recipe.json")]) {
      if (!existsSync(f)) continue;
      const j = JSON.parse(readFileSync(f, "utf8")) as { tokens?: number; corpus_tokens?: number };
      const n = j.tokens ?? j.corpus_tokens;
      if (n) return n;
    }
    return corpus().ids.length;
  };
  const hf = makeHfConfig({
    vocabSize: tok.vocabSize,
    hidden: o.hidden,
    intermediate: o.intermediate,
    layers: o.layers,
    heads: o.heads,
    kvHeads: o.kvHeads,
    tieEmbeddings: true,
    maxPositions: 2048,
    eosTokenId: tok.tokenId("<|im_end|>"),
    rmsEps: 1e-5,
  });
  const model = new Transformer(parseConfig(hf));
  model.initRandom(o.seed, 0.02);
  for (const p of model.params.values()) setTrainable(p, true);
  const deadline = o.minutes ? Date.now() + o.minutes * 60_000 : undefined;
  const streams: Record<PhaseName, () => { ids: Int32Array; weights: Float32Array }> = {
    pretrain: () => corpus(),
    instruct: () => instructPhaseStream(o, renderer),
    reading: () => readingPhaseStream(o, renderer),
  };
  const phases: Phase[] = phaseSchedule(o)
    .map((p) => ({ ...p, stream: streams[p.name] }))
    // a phase keeps its number (work/phaseN, its batch seed) when an earlier one is switched off
    .map((p, n) => ({ ...p, n }))
    .filter((p) => p.steps > 0);
  const phaseDir = (i: number) => join(work, `phase${phases[i].n + 1}`);
  const finishedAt = (i: number) => {
    const f = join(phaseDir(i), "checkpoint", "state.json");
    return existsSync(f) && (JSON.parse(readFileSync(f, "utf8")) as { step: number }).step >= phases[i].steps;
  };
  // resume after the last finished phase: its weights start the next one (whose own checkpoint, if any, wins) or
  // are the model when every phase is done
  let first = 0;
  for (let i = phases.length - 1; i >= 0; i--)
    if (finishedAt(i)) {
      first = i + 1;
      break;
    }
  if (first > 0 && (first === phases.length || !existsSync(join(phaseDir(first), "checkpoint")))) {
    const params = readSafetensors(join(phaseDir(first - 1), "checkpoint", "params.safetensors"));
    for (const p of model.trainableParams()) p.data.set(params.get(p.name)!.data);
  }
  let loop: LoopResult = { steps: 0, finished: true, seconds: 0, lastLoss: NaN, tokens: 0 };
  for (let i = first; i < phases.length && loop.finished; i++) {
    const ph = phases[i];
    const s = ph.stream();
    log(`${ph.name} phase: ${s.ids.length} tokens`);
    loop = runLoop(model, {
      dir: phaseDir(i),
      steps: ph.steps,
      batchAt: packedBatches(s.ids, s.weights, o, o.seed + 99 + 100 * ph.n),
      lr: ph.lr,
      schedule: { warmupSteps: ph.warmup, kind: "cosine", minRatio: 0.1 },
      maxGradNorm: 1,
      weightDecay: 0.1,
      checkpointEvery: Math.max(10, Math.floor(ph.steps / (ph.n === 0 ? 30 : 20))),
      label: ph.name,
      quiet: o.quiet,
      deadline,
    });
  }
  const parameters = [...model.params.values()].reduce((s, p) => s + p.data.length, 0);
  if (loop.finished) {
    saveModel(model, o.out, "F32");
    writeFileSync(
      join(o.out, "training_curve.jsonl"),
      trainingCurve(
        o.out,
        phases.map((p, i) => ({ name: p.name, metrics: join(phaseDir(i), "metrics.jsonl") })),
      ),
    );
    // the measured cost: the seconds of every step, from the curves (so a resumed run counts all of them)
    const steps = readFileSync(join(o.out, "training_curve.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { tokens: number; tokens_per_s: number; loss: number });
    const seconds = steps.reduce((s, x) => s + x.tokens / x.tokens_per_s, 0);
    writeFileSync(
      join(o.out, "recipe.json"),
      JSON.stringify(
        {
          ...o,
          log: undefined,
          out: undefined,
          quiet: undefined,
          minutes: undefined,
          parameters,
          corpus_tokens: corpusTokens(),
          tokens_seen: steps.reduce((s, x) => s + x.tokens, 0),
          training_seconds: Math.round(seconds),
          last_loss: steps.at(-1)?.loss ?? null,
          engine: engineOf(),
        },
        null,
        2,
      ),
    );
  }
  return { dir: o.out, loop, parameters, corpusTokens: corpusTokens() };
}
