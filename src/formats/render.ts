/**
 * The one renderer: (task, example, format) → token ids and per-token loss weights, through the model's chat
 * template. Training and scoring both come here, so a model is scored on exactly the tokens it was trained on.
 *
 * Layouts (the user turn carries the task's prompt with the text in its place, then one format line):
 *  - single-token: `... Answer with Yes or No.` (left out when the task's prompt asks for the answers itself, see
 *    singleTokenLine) then the assistant turn starts and its first token is the answer; the loss falls on that token.
 *  - thinking: `... Think step by step, then finish with "Verdict: Yes" or "Verdict: No".`; the model reasons, and
 *    the verdict line is parsed (and scored at its answer position).
 *  - summary: a request to summarise the text; the reply is generated and checked for the incriminating facts.
 *  - conversation (instruction following): loss on every assistant turn, including its end-of-turn token.
 * Texts too long for the budget lose their middle (the prompt's question is always kept), and that is counted.
 */
import { InputError } from "../core/errors.js";
import type { HfTokenizer, ChatMessage } from "../engine/io/tokenizer.js";
import { exampleText, singleTokenLine, TEXT_SLOT, type Example, type Task } from "../data/task.js";

export const TRUNCATION_MARK = " [...] ";
export const VERDICT_PREFIX = "Verdict:";

export interface Rendered {
  ids: number[];
  /** weights[t] is the loss weight on predicting ids[t] */
  weights: number[];
  truncated: boolean;
}

export interface SingleTokenRender {
  /** the prompt, ending where the answer token goes */
  promptIds: number[];
  /** [positive, negative] answer token ids */
  candidates: [number, number];
  /** prompt + the answer token of the example's label, weight 1 on that token only */
  train: Rendered;
  truncated: boolean;
  /** the prompt as chat messages (for servers that apply their own template) */
  messages: ChatMessage[];
}

/** Renders kept per renderer for evaluation (cachedSingleToken): at most this many, holding at most this much text */
const SINGLE_CACHE_SIZE = 20_000;
const SINGLE_CACHE_CHARS = 20_000_000;

export class Renderer {
  private answerCache = new Map<string, number>();
  private singleCache = new Map<string, SingleTokenRender>();
  private singleCacheChars = 0;
  constructor(
    readonly tok: HfTokenizer,
    readonly maxTokens = 1024,
  ) {
    if (!tok.hasChatTemplate)
      throw new InputError("the tokenizer has no chat template; crossmon renders every format through one");
  }

  /** The id of a one-token answer, or a clear error naming the task. */
  answerId(answer: string, taskId: string): number {
    let id = this.answerCache.get(answer);
    if (id === undefined) {
      const ids = this.tok.encode(answer);
      if (ids.length !== 1)
        throw new InputError(
          `task "${taskId}": answer ${JSON.stringify(answer)} is ${ids.length} tokens for this tokenizer; ` +
            `single-token classification needs one`,
        );
      id = ids[0];
      this.answerCache.set(answer, id);
    }
    return id;
  }

  private chat(messages: ChatMessage[], addGenerationPrompt: boolean): number[] {
    // only the template's markup is special: a "<|im_end|>" written by a monitored agent stays plain text
    return this.tok.encodeChat(messages, { addGenerationPrompt });
  }

  /** Renders the user turn built by `content(text)` and cuts the middle of the text until the prompt fits `budget`. */
  private fit(
    text: string,
    content: (text: string) => string,
    budget: number,
  ): { ids: number[]; truncated: boolean; user: string } {
    let user = content(text);
    let ids = this.chat([{ role: "user", content: user }], true);
    if (ids.length <= budget) return { ids, truncated: false, user };
    const textIds = this.tok.encode(text);
    let keep = Math.max(0, textIds.length - (ids.length - budget) - 8);
    for (let tries = 0; tries < 6; tries++) {
      const head = this.tok.decode(textIds.slice(0, Math.ceil(keep / 2)));
      const tail = this.tok.decode(textIds.slice(textIds.length - Math.floor(keep / 2)));
      user = content(`${head}${TRUNCATION_MARK}${tail}`);
      ids = this.chat([{ role: "user", content: user }], true);
      if (ids.length <= budget) return { ids, truncated: true, user };
      keep = Math.max(0, keep - (ids.length - budget) - 8);
    }
    throw new InputError(`the prompt alone is longer than ${budget} tokens`);
  }

  private userContent(task: Task, formatLine: string | null): (text: string) => string {
    return (text: string) =>
      `${task.prompt.split(TEXT_SLOT).join(text)}${formatLine === null ? "" : `\n${formatLine}`}`;
  }

  /**
   * singleToken, kept for the next model scoring the same text under the same task (an evaluation renders each test
   * text once per model; tokenising dominates a simulated study's cost). Bounded in entries and in text held.
   */
  cachedSingleToken(task: Task, e: Example): SingleTokenRender {
    const text = exampleText(e);
    const a = task.answers;
    const key = [task.id, task.prompt, a.positive, a.negative, task.answer_line, e.label, text].join("\0");
    const hit = this.singleCache.get(key);
    if (hit) return hit;
    const r = this.singleToken(task, e);
    if (this.singleCache.size >= SINGLE_CACHE_SIZE || this.singleCacheChars > SINGLE_CACHE_CHARS) {
      this.singleCache.clear();
      this.singleCacheChars = 0;
    }
    this.singleCache.set(key, r);
    this.singleCacheChars += key.length;
    return r;
  }

  singleToken(task: Task, e: Example): SingleTokenRender {
    const pos = this.answerId(task.answers.positive, task.id);
    const neg = this.answerId(task.answers.negative, task.id);
    const { ids, truncated, user } = this.fit(
      exampleText(e),
      this.userContent(task, singleTokenLine(task)),
      this.maxTokens - 1,
    );
    const answer = e.label ? pos : neg;
    return {
      promptIds: ids,
      messages: [{ role: "user", content: user }],
      candidates: [pos, neg],
      truncated,
      train: { ids: [...ids, answer], weights: [...ids.map(() => 0), 1], truncated },
    };
  }

  thinkingLine(task: Task): string {
    const [p, n] = [task.answers.positive.trim(), task.answers.negative.trim()];
    return `Think step by step, then finish with "${VERDICT_PREFIX} ${p}" or "${VERDICT_PREFIX} ${n}".`;
  }

  /** The prompt for thinking classification (the model writes reasoning, then the verdict line). */
  thinkingPrompt(task: Task, e: Example, budget = this.maxTokens - 256): { promptIds: number[]; truncated: boolean } {
    const r = this.fit(exampleText(e), this.userContent(task, this.thinkingLine(task)), budget);
    return { promptIds: r.ids, truncated: r.truncated };
  }

  /** A thinking-format training example: the given reasoning, then the verdict of the example's label. */
  thinkingTrain(task: Task, e: Example, reasoning: string): Rendered {
    const { promptIds, truncated } = this.thinkingPrompt(task, e, this.maxTokens - 128);
    const verdict =
      `${reasoning.trim()}\n${VERDICT_PREFIX} ` + `${(e.label ? task.answers.positive : task.answers.negative).trim()}`;
    return { ...this.completion(promptIds, verdict), truncated };
  }

  summaryPrompt(e: Example, budget = this.maxTokens - 192): { promptIds: number[]; truncated: boolean } {
    const r = this.fit(
      exampleText(e),
      (text) =>
        `Summarise the following text in two or three sentences, keeping every concrete action, file, command or ` +
        `calculation it mentions.\n\n${text}`,
      budget,
    );
    return { promptIds: r.ids, truncated: r.truncated };
  }

  /** Prompt ids + a reply closed the way the chat template closes an assistant turn, loss on the reply. */
  completion(promptIds: number[], reply: string): Rendered {
    const end = this.turnEnd();
    const replyIds = this.tok.encode(reply + end);
    return {
      ids: [...promptIds, ...replyIds],
      weights: [...promptIds.map(() => 0), ...replyIds.map(() => 1)],
      truncated: false,
    };
  }

  private turnEndCache: string | null = null;
  /** What the template writes after an assistant message's content (e.g. "<|im_end|>\n"), found by rendering one. */
  turnEnd(): string {
    if (this.turnEndCache === null) {
      const marker = "\u0001crossmon\u0001";
      const s = this.tok.applyChatTemplate([
        { role: "user", content: "x" },
        { role: "assistant", content: marker },
      ]);
      const after = s.slice(s.indexOf(marker) + marker.length);
      this.turnEndCache = after.replace(/\s+$/, "");
    }
    return this.turnEndCache;
  }

  /** An instruction-following conversation: loss on every assistant turn (and its end-of-turn token). */
  conversation(messages: ChatMessage[]): Rendered {
    const ids: number[] = [];
    const weights: number[] = [];
    let truncated = false;
    for (let i = 0; i < messages.length; i++) {
      if (messages[i].role !== "assistant") continue;
      const before = this.chat(messages.slice(0, i), true);
      const upTo = this.chat(messages.slice(0, i + 1), false);
      for (let t = 0; t < before.length; t++) {
        if (t < ids.length) {
          if (ids[t] !== before[t])
            throw new Error("chat template is not prefix-stable: an earlier turn tokenises differently later");
        } else {
          ids.push(before[t]);
          weights.push(0);
        }
      }
      if (upTo.slice(0, before.length).some((x, t) => x !== before[t]))
        throw new Error("chat template is not prefix-stable at an assistant turn");
      // the assistant's tokens, through its end-of-turn token; the newline the template adds after it is not trained
      const end = this.tok.encode(this.turnEnd()).length;
      const reply = upTo.slice(before.length);
      const contentLen = this.tok.encodePlain(messages[i].content).length;
      const trained = Math.min(reply.length, contentLen + end);
      reply.forEach((x, j) => {
        ids.push(x);
        weights.push(j < trained ? 1 : 0);
      });
    }
    if (ids.length > this.maxTokens) {
      truncated = true;
      ids.length = this.maxTokens;
      weights.length = this.maxTokens;
    }
    return { ids, weights, truncated };
  }
}

/** The verdict of a thinking trace: true/false for the task's two answers, null when there is no verdict line. */
export function parseVerdict(text: string, task: Task): boolean | null {
  const re = new RegExp(`${VERDICT_PREFIX}\\s*(\\S+)`, "g");
  let last: string | null = null;
  for (const m of text.matchAll(re)) last = m[1].replace(/[.,!"'*]+$/, "");
  if (last === null) return null;
  const norm = (s: string) => s.trim().toLowerCase();
  if (norm(last) === norm(task.answers.positive)) return true;
  if (norm(last) === norm(task.answers.negative)) return false;
  return null;
}
