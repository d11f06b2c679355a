/**
 * The messages between the server's event loop and the model's thread, typed end to end: each answer names the op it
 * answers, so the server narrows it by that tag instead of casting what comes back.
 */
import type { ChatMessage } from "../engine/io/tokenizer.js";

export interface ThreadOptions {
  model: string;
  adapter?: string;
  /** the renderer's budget for a classify prompt (longer texts lose their middle) */
  maxTokens: number;
  /** the longest chat or completion prompt accepted; 0 = the model's context */
  maxPromptTokens: number;
}

export interface ClassifyItem {
  prompt: string;
  text?: string;
  messages?: ChatMessage[];
  positive?: string;
  negative?: string;
}

export interface GenerateParams {
  /** resolved by the server's request schemas (each endpoint's default there) */
  max_tokens: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  stop?: string | string[];
}

/** A monitor's answer to one classify item. */
export interface Verdict {
  p_positive: number;
  label: "positive" | "negative";
  /** the answer word of the verdict's side */
  answer: string;
  /** probability mass on the two answer tokens together */
  mass: number;
  truncated: boolean;
  usage: { prompt_tokens: number };
}

/** One item of a batch refused or failed, with the HTTP status it deserves; the rest of the batch is answered. */
export interface ItemError {
  error: string;
  status: number;
}

export type ClassifyOutcome = Verdict | ItemError;

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

/** A generated continuation, with per-token log-probabilities when asked for. */
export interface Generated {
  kind: "generated";
  promptTokens: number;
  completionTokens: number;
  text: string;
  finishReason: string;
  content: (TokenLogprob & { top_logprobs: TokenLogprob[] })[] | null;
}

/** A completion with max_tokens 0: only the next-token distribution (as a 1-token scoring call would need). */
export interface NextTokens {
  kind: "next";
  promptTokens: number;
  next: TokenLogprob[];
}

/** What the server asks of the model's thread (each message also carries an id, which its answer repeats). */
export type ThreadJob =
  | { op: "classify"; items: ClassifyItem[] }
  | { op: "chat"; messages: ChatMessage[]; params: GenerateParams; topLogprobs: number }
  | { op: "completion"; prompt: string; params: GenerateParams; topLogprobs: number };
export type ThreadRequest = ThreadJob & { id: number };

/** Each op's result. */
export interface ThreadResults {
  classify: ClassifyOutcome[];
  chat: Generated;
  completion: Generated | NextTokens;
}

export type ThreadResult = { [Op in keyof ThreadResults]: { op: Op; result: ThreadResults[Op] } }[keyof ThreadResults];

export type ThreadAnswer =
  | ({ id: number; ok: true } & ThreadResult)
  | { id: number; ok: false; status: number; message: string };

/** The thread's first message: loaded, or why it could not load. */
export type ThreadStartup = { ready: true; context: number; promptLimit: number } | { failed: string };

export type ThreadMessage = ThreadAnswer | ThreadStartup;

/** A refusal with its HTTP status, decided before the model does any work. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function isItemError(o: ClassifyOutcome): o is ItemError {
  return "error" in o;
}
