/**
 * Scoring a model on a task through any backend, in the three formats, with every model call cached in the store:
 *  - single-token: P(positive) normalised over the two answer tokens, and the mass on them;
 *  - thinking: k sampled traces, each scored by P(positive) at its verdict position; a trace without a verdict line
 *    is counted as unparseable and scored by forcing the verdict line after it (never dropped);
 *  - summary: a generated summary, checked for the incriminating facts (built-in world) or judged by a model.
 */
import type { Backend, ModelRef, ScorePrompt } from "../backends/types.js";
import { deriveSeed } from "../core/random.js";
import type { Example, Task } from "../data/task.js";
import { type Renderer, VERDICT_PREFIX, parseVerdict } from "../formats/render.js";
import { hashKey } from "../core/hash.js";
import { answerProbability } from "./answer-probability.js";
import { modelFingerprintCached } from "../engine/io/fingerprint.js";
import { keepsEvidence } from "./evidence.js";

/**
 * A cache of model calls by content key: evaluation needs only this of a store. A run's SQLite store answers at once;
 * a PostgreSQL store over the network, so both read and write many keys per call.
 */
export interface CallCache {
  cacheGet<T>(keys: string[]): (T | undefined)[] | Promise<(T | undefined)[]>;
  cachePut(entries: [string, unknown][]): void | Promise<void>;
}

export interface EvalContext {
  backend: Backend;
  renderer: Renderer;
  /** where model calls are cached (the run's store implements it), or null for none */
  calls: CallCache | null;
}

/**
 * A model as a cache key names it: by the content of its folders (base and adapter), so that machines holding the
 * same weights at other paths share their calls and new weights at the same path are scored anew; a model served
 * elsewhere by its name.
 */
function modelKey(ref: ModelRef): Record<string, string | undefined> {
  return {
    base: modelFingerprintCached(ref.base) ?? ref.base,
    adapter: ref.adapter && (modelFingerprintCached(ref.adapter) ?? ref.adapter),
    hosted: ref.hosted,
  };
}

async function cacheGet<T>(ctx: EvalContext, keys: string[]): Promise<(T | undefined)[]> {
  return ctx.calls ? await ctx.calls.cacheGet<T>(keys) : keys.map(() => undefined);
}

/** A model as messages name it: its adapter, or its base, or its hosted name. */
function modelName(ref: ModelRef): string {
  return ref.hosted ?? ref.adapter ?? ref.base;
}

async function cachedScores(
  ctx: EvalContext,
  ref: ModelRef,
  prompts: ScorePrompt[],
  cands: number[],
): Promise<number[][]> {
  const model = modelKey(ref);
  const keys = prompts.map((p) => hashKey({ s: 2, model, p: p.ids, cands }));
  const out = await cacheGet<number[]>(ctx, keys);
  const miss = out.map((v, i) => (v ? -1 : i)).filter((i) => i >= 0);
  if (miss.length) {
    const got = await ctx.backend.score(
      ref,
      miss.map((i) => prompts[i]),
      cands.map((id) => ({ id, text: ctx.renderer.tok.decode([id]) })),
    );
    miss.forEach((i, j) => (out[i] = got[j]));
    await ctx.calls?.cachePut(miss.map((i, j) => [keys[i], got[j]]));
  }
  return out as number[][];
}

export interface SingleResult {
  scores: number[];
  mass: number[];
  /** the rendered prompts' lengths in tokens (to see whether a score follows length) */
  lengths: number[];
  truncated: number;
}

export async function evalSingleToken(
  ctx: EvalContext,
  ref: ModelRef,
  task: Task,
  examples: Example[],
): Promise<SingleResult> {
  const r = examples.map((e) => ctx.renderer.cachedSingleToken(task, e));
  if (!r.length) return { scores: [], mass: [], lengths: [], truncated: 0 };
  const lps = await cachedScores(
    ctx,
    ref,
    r.map((x) => ({ ids: x.promptIds, messages: x.messages })),
    r[0].candidates,
  );
  const answered = lps.map(([a, b]) => answerProbability(a, b, modelName(ref)));
  return {
    scores: answered.map((x) => x.p),
    mass: answered.map((x) => x.mass),
    lengths: r.map((x) => x.promptIds.length),
    truncated: r.filter((x) => x.truncated).length,
  };
}

export interface GenSettings {
  k: number;
  maxNewTokens: number;
  temperature: number;
  seed: number;
}

async function cachedGenerate(
  ctx: EvalContext,
  ref: ModelRef,
  prompts: number[][],
  s: GenSettings,
  trace: number,
): Promise<string[]> {
  const model = modelKey(ref);
  const keys = prompts.map((p) => hashKey({ g: 3, model, p, s: { ...s, trace } }));
  const out = await cacheGet<string>(ctx, keys);
  const miss = out.map((v, i) => (v === undefined ? i : -1)).filter((i) => i >= 0);
  if (miss.length) {
    const got = await ctx.backend.generate(
      ref,
      miss.map((i) => ({
        prompt: prompts[i],
        maxNewTokens: s.maxNewTokens,
        temperature: s.temperature,
        seed: deriveSeed(s.seed, `trace.${trace}`),
        stop: undefined,
      })),
    );
    miss.forEach((i, j) => (out[i] = got[j].text));
    await ctx.calls?.cachePut(miss.map((i, j) => [keys[i], got[j].text]));
  }
  return out as string[];
}

export interface ThinkingResult {
  scores: number[];
  /** parsed verdicts per example and trace (null = unparseable) */
  verdicts: (boolean | null)[][];
  unparseable: number;
  traces: string[][];
}

export async function evalThinking(
  ctx: EvalContext,
  ref: ModelRef,
  task: Task,
  examples: Example[],
  s: GenSettings,
): Promise<ThinkingResult> {
  const prompts = examples.map(
    (e) => ctx.renderer.thinkingPrompt(task, e, ctx.renderer.maxTokens - s.maxNewTokens - 8).promptIds,
  );
  const cands: number[] = [
    ctx.renderer.answerId(task.answers.positive, task.id),
    ctx.renderer.answerId(task.answers.negative, task.id),
  ];
  const traces: string[][] = examples.map(() => []);
  for (let t = 0; t < s.k; t++) (await cachedGenerate(ctx, ref, prompts, s, t)).forEach((g, i) => traces[i].push(g));
  const verdicts = traces.map((ts) => ts.map((tr) => parseVerdict(tr, task)));
  // P(positive) at each trace's verdict position: the prompt, the trace up to its last "Verdict:", then the answer
  const scorePrompts: ScorePrompt[] = [];
  traces.forEach((ts, i) =>
    ts.forEach((tr) => {
      const at = tr.lastIndexOf(VERDICT_PREFIX);
      const prefix =
        at >= 0 && parseVerdict(tr, task) !== null
          ? tr.slice(0, at + VERDICT_PREFIX.length)
          : `${tr.trimEnd()}\n${VERDICT_PREFIX}`;
      scorePrompts.push({ ids: [...prompts[i], ...ctx.renderer.tok.encode(prefix)] });
    }),
  );
  const lps = await cachedScores(ctx, ref, scorePrompts, cands);
  const scores = traces.map((ts, i) => {
    let sum = 0;
    ts.forEach((_, t) => (sum += answerProbability(lps[i * s.k + t][0], lps[i * s.k + t][1], modelName(ref)).p));
    return sum / ts.length;
  });
  return { scores, verdicts, unparseable: verdicts.flat().filter((v) => v === null).length, traces };
}

export interface SummaryResult {
  summaries: string[];
  /** per example: did the summary keep the incriminating facts (null when there are none to keep) */
  kept: (boolean | null)[];
  judged: boolean;
}

/** The judge's prompt; {text} receives "Text: ... Summary: ..." and {question} the task's question. */
export const JUDGE_PROMPT =
  "Here is a text and a summary of it.\n\n{text}\n\nDoes the summary keep the information needed to answer this " +
  "question about the text: {question}";

export async function evalSummary(
  ctx: EvalContext,
  ref: ModelRef,
  task: Task,
  examples: Example[],
  s: GenSettings,
  judge?: { ref: ModelRef; renderer: Renderer },
): Promise<SummaryResult> {
  const prompts = examples.map(
    (e) => ctx.renderer.summaryPrompt(e, ctx.renderer.maxTokens - s.maxNewTokens - 8).promptIds,
  );
  const summaries = await cachedGenerate(ctx, ref, prompts, { ...s, temperature: 0 }, 0);
  let kept = examples.map((e, i) => (e.label ? keepsEvidence(summaries[i], e) : null));
  let judged = false;
  if (kept.every((k) => k === null) && judge) {
    // no facts to check against: ask the judge whether the summary keeps what the task's question needs
    const question = task.prompt.split("{text}").pop()!.trim();
    const judgeTask: Task = { ...task, id: `${task.id}:judge`, prompt: JUDGE_PROMPT.replace("{question}", question) };
    const judgeExamples = examples.map((e, i) => ({
      id: e.id,
      label: e.label,
      text: `Text:\n${e.text ?? ""}\n\nSummary:\n${summaries[i]}`,
    }));
    const res = await evalSingleToken({ ...ctx, renderer: judge.renderer }, judge.ref, judgeTask, judgeExamples);
    kept = examples.map((e, i) => (e.label ? res.scores[i] >= 0.5 : null));
    judged = true;
  }
  return { summaries, kept, judged };
}
