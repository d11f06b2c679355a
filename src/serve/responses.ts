/**
 * OpenAI's response shapes, built from what the model's thread computed: pure functions of their inputs (the id and
 * the time are arguments), so each shape is checked by a unit test without a model or a socket.
 */
import type { Generated, NextTokens, Verdict } from "./thread-protocol.js";

/** Who the response is from, and when and under which id it was made. */
export interface Stamp {
  id: string;
  created: number;
  model: string;
}

export function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function chatCompletion(s: Stamp, r: Generated) {
  return {
    id: s.id,
    object: "chat.completion" as const,
    created: s.created,
    model: s.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant" as const, content: r.text },
        logprobs: r.content ? { content: r.content } : null,
        finish_reason: r.finishReason,
      },
    ],
    usage: usage(r.promptTokens, r.completionTokens),
  };
}

/** The legacy completions shape: log-probabilities as parallel lists, top ones as token → logprob maps. */
export function textCompletion(s: Stamp, r: Generated | NextTokens) {
  const base = { id: s.id, object: "text_completion" as const, created: s.created, model: s.model };
  if (r.kind === "next") {
    const top = Object.fromEntries(r.next.map((t) => [t.token, t.logprob]));
    return {
      ...base,
      choices: [
        {
          index: 0,
          text: "",
          logprobs: { tokens: [], token_logprobs: [], top_logprobs: [top], text_offset: [] },
          finish_reason: "length",
        },
      ],
      usage: usage(r.promptTokens, 0),
    };
  }
  const logprobs = r.content
    ? {
        tokens: r.content.map((c) => c.token),
        token_logprobs: r.content.map((c) => c.logprob),
        top_logprobs: r.content.map((c) => Object.fromEntries(c.top_logprobs.map((t) => [t.token, t.logprob]))),
        text_offset: [],
      }
    : null;
  return {
    ...base,
    choices: [{ index: 0, text: r.text, logprobs, finish_reason: r.finishReason }],
    usage: usage(r.promptTokens, r.completionTokens),
  };
}

export function classification(model: string, v: Verdict) {
  return { ...v, model };
}

export function modelList(model: string, created: number) {
  return { object: "list", data: [{ id: model, object: "model", created, owned_by: "crossmon" }] };
}

/** OpenAI's error body. */
export function errorBody(status: number, message: string, type: string) {
  return { error: { message, type, code: status } };
}
