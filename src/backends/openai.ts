/**
 * An OpenAI-compatible server as a backend (vLLM, llama.cpp, Ollama, a hosted API, or `crossmon serve`).
 * Scoring asks for the next token's top log-probabilities (chat completions with logprobs/top_logprobs and
 * max_tokens 1, or completions on the rendered prompt text) and reads the two answer tokens there; when neither is
 * among them, or the server returns none, that is an error that reports the mass it found — never a silent 0.5.
 * Calls run with a concurrency limit and retry with backoff on 429, 5xx and time-outs (the openai SDK's retries).
 * The API key comes from the environment and is never written to logs, reports or the store.
 */
import OpenAI from "openai";
import type { Backend, Candidate, GenerateRequest, Generated, ModelRef, ScorePrompt } from "./types.js";
import { UnsupportedStep } from "./types.js";

export interface OpenAIBackendOptions {
  baseURL: string;
  /** the model name the server knows */
  model: string;
  /** "chat" sends messages (the server applies its template); "completions" sends the rendered prompt text */
  mode?: "chat" | "completions";
  /** turns prompt ids into text, for completions mode (the tokenizer of the served model) */
  decode?: (ids: number[]) => string;
  concurrency?: number;
  topLogprobs?: number;
  maxRetries?: number;
  timeoutMs?: number;
  /** the environment variable holding the key (default OPENAI_API_KEY) */
  apiKeyEnv?: string;
}

export class ScoringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScoringError";
  }
}

/** A small semaphore: at most n calls in flight. */
function limiter(n: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

export class OpenAIBackend implements Backend {
  readonly name: string;
  readonly capabilities = { score: true, generate: true, train: false };
  private client: OpenAI;
  private limit: ReturnType<typeof limiter>;
  /** answers found only approximately (one of the two absent from the top log-probabilities) */
  approximated = 0;

  constructor(readonly o: OpenAIBackendOptions) {
    this.name = `openai:${o.model}`;
    this.client = new OpenAI({
      baseURL: o.baseURL,
      apiKey: process.env[o.apiKeyEnv ?? "OPENAI_API_KEY"] ?? "not-needed",
      maxRetries: o.maxRetries ?? 4,
      timeout: o.timeoutMs ?? 120_000,
    });
    this.limit = limiter(o.concurrency ?? 8);
  }

  /** What identifies this model in caches and reports: the server and model, never the key. */
  ref(): ModelRef {
    return { base: `${this.o.baseURL}#${this.o.model}` };
  }

  private async topLogprobs(p: ScorePrompt): Promise<Map<string, number>> {
    const k = this.o.topLogprobs ?? 20;
    if ((this.o.mode ?? "chat") === "chat") {
      if (!p.messages) throw new ScoringError("chat-mode scoring needs the prompt as messages");
      const r = await this.client.chat.completions.create({
        model: this.o.model,
        messages: p.messages as OpenAI.ChatCompletionMessageParam[],
        max_tokens: 1,
        temperature: 0,
        logprobs: true,
        top_logprobs: k,
      });
      const first = r.choices[0]?.logprobs?.content?.[0];
      if (!first?.top_logprobs?.length)
        throw new ScoringError(
          `the server returned no log-probabilities (model ${this.o.model}); it must support logprobs/top_logprobs`,
        );
      return new Map(first.top_logprobs.map((t) => [t.token, t.logprob]));
    }
    if (!this.o.decode)
      throw new ScoringError("completions-mode scoring needs the served model's tokenizer to turn prompts into text");
    const r = await this.client.completions.create({
      model: this.o.model,
      prompt: this.o.decode(p.ids),
      max_tokens: 1,
      temperature: 0,
      logprobs: k,
    });
    const top = r.choices[0]?.logprobs?.top_logprobs?.[0];
    if (!top || !Object.keys(top).length)
      throw new ScoringError(
        `the server returned no log-probabilities (model ${this.o.model}); it must support logprobs`,
      );
    return new Map(Object.entries(top));
  }

  async score(_ref: ModelRef, prompts: ScorePrompt[], candidates: Candidate[]): Promise<number[][]> {
    return Promise.all(
      prompts.map((p) =>
        this.limit(async () => {
          const top = await this.topLogprobs(p);
          // a chat reply's first token carries no leading space ("Yes" where a template continuation has " Yes"):
          // the exact token when listed, else the same word without its surrounding space
          const found = candidates.map((c) => top.get(c.text) ?? top.get(c.text.trim()));
          if (found.every((x) => x === undefined)) {
            const mass = [...top.values()].reduce((s, l) => s + Math.exp(l), 0);
            throw new ScoringError(
              `neither answer token (${candidates.map((c) => JSON.stringify(c.text)).join(", ")}) is among the ` +
                `${top.size} top log-probabilities; they hold ${(100 * mass).toFixed(1)}% of the mass (top: ${[
                  ...top.keys(),
                ]
                  .slice(0, 5)
                  .map((t) => JSON.stringify(t))
                  .join(", ")})`,
            );
          }
          // one answer missing from the top-k: its probability is at most the smallest listed one
          const floor = Math.min(...top.values());
          return found.map((x) => {
            if (x !== undefined) return x;
            this.approximated++;
            return floor;
          });
        }),
      ),
    );
  }

  async generate(_ref: ModelRef, reqs: GenerateRequest[]): Promise<Generated[]> {
    if (!this.o.decode)
      throw new ScoringError("generation needs the served model's tokenizer to turn prompts into text");
    return Promise.all(
      reqs.map((r) =>
        this.limit(async () => {
          const c = await this.client.completions.create({
            model: this.o.model,
            prompt: this.o.decode!(r.prompt),
            max_tokens: r.maxNewTokens,
            temperature: r.temperature,
            top_p: r.topP,
            seed: r.seed,
            stop: r.stop,
          });
          const ch = c.choices[0];
          return {
            text: ch?.text ?? "",
            ids: [],
            finishReason: ch?.finish_reason === "length" ? "length" : "stop",
          } as Generated;
        }),
      ),
    );
  }

  async train(): Promise<ModelRef> {
    throw new UnsupportedStep(
      this.name,
      "train (an OpenAI-compatible server only scores and generates; export the mixture with `crossmon export` for " +
        "hosted fine-tuning)",
    );
  }
}
