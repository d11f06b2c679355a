/**
 * The token streams the three phases train on, built from the world's generators: the pretraining corpus, the
 * instruction phase and the reading phase, each one seeded stream of (token, loss weight), and the packed batches cut
 * from a stream. Recipe studies (studies/) export exactly these streams.
 */
import { deriveSeed, Rng } from "../../core/random.js";
import type { HfTokenizer } from "../../engine/io/tokenizer.js";
import type { WeightedSequence } from "../../engine/sequences.js";
import { generateWorldTexts } from "../../data/world/index.js";
import { generateInstructionData } from "../../data/world/instructions.js";
import { generateComprehensionQuestions, generateReadingQuestions, type ReadingQuestion } from "./reading.js";
import { generateStoryQuestions } from "./stories.js";
import { DEFAULT_ANSWERS, DEFAULT_LABELS, type Task } from "../../data/task.js";
import type { Renderer } from "../../formats/render.js";
import type { PretrainOptions } from "./recipe.js";

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
 * on exactly the tokens `crossmon pretrain` does; `documents`: plain texts a study adds (none in the recipe). */
export function readingPhaseStream(
  o: Pick<
    Required<PretrainOptions>,
    "seed" | "storySize" | "readingSize" | "ifSize" | "readingThinkingShare" | "readingAnswerWeight"
  >,
  renderer: Renderer,
  documents: string[] = [],
): { ids: Int32Array; weights: Float32Array } {
  const rng = new Rng(deriveSeed(o.seed, "reading-phase.order"));
  const readingQuestion = (q: ReadingQuestion) =>
    readingSequence(renderer, q, rng.next() < o.readingThinkingShare, o.readingAnswerWeight);
  return toStream(
    [
      ...generateStoryQuestions({ seed: deriveSeed(o.seed, "reading-phase.stories"), size: o.storySize }).map(
        readingQuestion,
      ),
      ...generateComprehensionQuestions({
        seed: deriveSeed(o.seed, "reading-phase.comprehension"),
        size: Math.round(o.readingSize / 2),
        flip: true,
      }).map(readingQuestion),
      ...generateReadingQuestions({
        seed: deriveSeed(o.seed, "reading-phase.reading"),
        size: Math.round(o.readingSize / 4),
        flip: true,
      }).map(readingQuestion),
      ...generateInstructionData({
        seed: deriveSeed(o.seed, "reading-phase.instructions"),
        size: Math.round(o.ifSize / 8),
      }).map((c) => renderer.conversation(c.messages)),
      ...documents.map((d) => plainText(renderer.tok, d)),
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
  const rng = new Rng(deriveSeed(o.seed, "instruct-phase.order"));
  const question = (q: ReadingQuestion) => readingSequence(renderer, q, rng.next() >= 0.5);
  return toStream(
    [
      ...generateInstructionData({
        seed: deriveSeed(o.seed, "instruct-phase.instructions"),
        size: Math.round(o.ifSize / 2),
      }).map((c) => renderer.conversation(c.messages)),
      ...generateReadingQuestions({
        seed: deriveSeed(o.seed, "instruct-phase.reading"),
        size: Math.round(o.readingSize / 2),
      }).map(question),
      ...generateComprehensionQuestions({
        seed: deriveSeed(o.seed, "instruct-phase.comprehension"),
        size: o.readingSize,
      }).map(question),
    ],
    rng,
  );
}

/** The world seed of the pretraining corpus's texts (the tokenizer samples the same texts). */
export function pretrainWorldSeed(seed: number): number {
  return deriveSeed(seed, "pretrain.world");
}

/** The seed of the pretraining corpus's instruction-following conversations (the tokenizer samples them too). */
export function pretrainInstructionSeed(seed: number): number {
  return deriveSeed(seed, "pretrain.instructions");
}

/** The seed of phase n's batch order (rows of its packed stream). */
export function phaseBatchSeed(seed: number, phase: number): number {
  return deriveSeed(seed, `phase.${phase}.batches`);
}

/** The pretraining corpus as one stream of (token, loss weight), packed into rows later. Exported for recipe studies
 * (studies/pretrain-recipe/export.ts), which train on exactly these tokens; `documents`: plain texts a study adds to
 * the world's (none in the recipe). */
export function pretrainCorpusStream(
  o: Pick<Required<PretrainOptions>, "seed" | "worldPerDomain" | "ifSize" | "readingSize">,
  tok: HfTokenizer,
  renderer: Renderer,
  documents: string[] = [],
): { ids: Int32Array; weights: Float32Array; counts: Record<string, number> } {
  const rng = new Rng(deriveSeed(o.seed, "pretrain.order"));
  const docs = generateWorldTexts({ seed: pretrainWorldSeed(o.seed), size: o.worldPerDomain }).flatMap((d) =>
    d.texts.map((t) => t.text),
  );
  const ifData = generateInstructionData({ seed: pretrainInstructionSeed(o.seed), size: o.ifSize });
  const reading = generateReadingQuestions({ seed: deriveSeed(o.seed, "pretrain.reading"), size: o.readingSize });
  const seqs: WeightedSequence[] = [];
  const counts = {
    documents: docs.length,
    added_documents: documents.length,
    if_conversations: ifData.length,
    reading_single_token: 0,
    reading_thinking: 0,
  };
  for (const d of [...docs, ...documents]) seqs.push(plainText(tok, d));
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
