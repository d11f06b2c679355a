/**
 * `crossmon serve`: a model folder (optionally with a LoRA adapter) behind an OpenAI-compatible HTTP API —
 * /v1/models, /v1/chat/completions, /v1/completions — and a monitor endpoint, POST /v1/classify, that returns
 * P(positive) and the label. Concurrent classify requests are batched into one forward pass; a bounded queue answers
 * 429 when full; bad JSON or fields are 400s with the reason; oversize bodies 413; unknown models 404; SIGTERM drains
 * and exits; it binds to 127.0.0.1 unless told otherwise.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { z } from "zod";
import { LocalBackend } from "../backends/local.js";
import type { ModelRef } from "../backends/types.js";
import { DEFAULT_ANSWERS, DEFAULT_LABELS, TEXT_SLOT, type Task } from "../data/task.js";
import { nextTokenLogprobs } from "../engine/score.js";
import { Renderer } from "../formats/render.js";
import { ChatRequest, ClassifyRequest, CompletionRequest } from "./schemas.js";

export interface ServeOptions {
  model: string;
  adapter?: string;
  /** the name clients use in "model" (default: the folder's name) */
  name?: string;
  host?: string;
  port?: number;
  maxBatch?: number;
  maxQueue?: number;
  maxBodyBytes?: number;
  maxTokens?: number;
  log?: (line: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
  ) {
    super(message);
  }
}

interface Job {
  run: () => Promise<unknown> | unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface ClassifyJob {
  ids: number[];
  candidates: [number, number];
  resolve: (v: { lpPos: number; lpNeg: number }) => void;
  reject: (e: unknown) => void;
}

export class MonitorServer {
  readonly backend = new LocalBackend();
  readonly ref: ModelRef;
  readonly name: string;
  readonly renderer: Renderer;
  private server: Server | null = null;
  private classifyQueue: ClassifyJob[] = [];
  private jobs: Job[] = [];
  private busy = false;
  private closing = false;
  private paused = false;
  private created = Math.floor(Date.now() / 1000);

  constructor(readonly o: ServeOptions) {
    this.ref = { base: o.model, adapter: o.adapter };
    this.name = o.name ?? (o.model.replace(/\/+$/, "").split("/").pop() || "model");
    const { tok } = this.backend.load(this.ref);
    this.renderer = new Renderer(tok, o.maxTokens ?? 2048);
  }

  private get queued(): number {
    return this.classifyQueue.length + this.jobs.length;
  }

  private checkModel(model: string | undefined): void {
    if (model === undefined || model === this.name) return;
    if (/[/\\]|\.\./.test(model))
      throw new HttpError(
        403,
        `model "${model}" is a path; this server only serves "${this.name}"`,
        "permission_error",
      );
    throw new HttpError(
      404,
      `model "${model}" is not served here (this server serves "${this.name}")`,
      "not_found_error",
    );
  }

  private admit(): void {
    if (this.closing) throw new HttpError(503, "the server is shutting down", "server_error");
    if (this.queued >= (this.o.maxQueue ?? 256))
      throw new HttpError(429, "the request queue is full; retry later", "rate_limit_error");
  }

  /** Stops taking work from the queue (requests still queue, up to the limit); for maintenance and tests. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** One job at a time on the engine, classify batches first; the event loop breathes between them. */
  private pump(): void {
    if (this.busy || this.paused) return;
    this.busy = true;
    setImmediate(async () => {
      try {
        if (this.classifyQueue.length) {
          const batch = this.classifyQueue.splice(0, this.o.maxBatch ?? 16);
          try {
            const { model } = this.backend.load(this.ref);
            const lps = nextTokenLogprobs(
              model,
              batch.map((j) => j.ids),
              batch.length,
            );
            batch.forEach((j, i) => j.resolve({ lpPos: lps[i][j.candidates[0]], lpNeg: lps[i][j.candidates[1]] }));
          } catch (e) {
            batch.forEach((j) => j.reject(e));
          }
        } else if (this.jobs.length) {
          const j = this.jobs.shift()!;
          try {
            j.resolve(await j.run());
          } catch (e) {
            j.reject(e);
          }
        }
      } finally {
        this.busy = false;
        if (this.queued) this.pump();
      }
    });
  }

  private enqueue<T>(run: () => Promise<T> | T): Promise<T> {
    this.admit();
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({ run, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  private classify(req: z.infer<typeof ClassifyRequest>): Promise<Record<string, unknown>> {
    this.admit();
    const prompt = req.prompt.includes(TEXT_SLOT) ? req.prompt : `${TEXT_SLOT}\n\n${req.prompt}`;
    const task: Task = {
      id: "request",
      domain: "request",
      prompt,
      labels: { ...DEFAULT_LABELS },
      answers: {
        positive: req.positive ?? DEFAULT_ANSWERS.positive,
        negative: req.negative ?? DEFAULT_ANSWERS.negative,
      },
      examples: [],
      source: "serve",
    };
    let r: ReturnType<Renderer["singleToken"]>;
    try {
      r = this.renderer.singleToken(task, { id: "x", text: req.text, messages: req.messages, label: false });
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    if (r.candidates[0] === r.candidates[1]) {
      throw new HttpError(
        400,
        `fields "positive" and "negative": both are token ${r.candidates[0]} (${JSON.stringify(task.answers.positive)}); ` +
          "they must be two different tokens",
      );
    }
    return new Promise((resolve, reject) => {
      this.classifyQueue.push({
        ids: r.promptIds,
        candidates: r.candidates,
        reject,
        resolve: ({ lpPos, lpNeg }) => {
          const m = Math.max(lpPos, lpNeg);
          const p = Math.exp(lpPos - m) / (Math.exp(lpPos - m) + Math.exp(lpNeg - m));
          resolve({
            p_positive: p,
            label: p >= 0.5 ? "positive" : "negative",
            answer: p >= 0.5 ? task.answers.positive : task.answers.negative,
            mass: Math.exp(lpPos) + Math.exp(lpNeg),
            truncated: r.truncated,
            model: this.name,
            usage: { prompt_tokens: r.promptIds.length },
          });
        },
      });
      this.pump();
    });
  }

  private topLogprobs(lp: Float32Array, k: number, tok: (id: number) => string) {
    const idx = Array.from(lp.keys())
      .sort((a, b) => lp[b] - lp[a])
      .slice(0, k);
    return idx.map((i) => ({ token: tok(i), logprob: lp[i], bytes: Array.from(Buffer.from(tok(i))) }));
  }

  private async generateFor(
    ids: number[],
    body: { max_tokens?: number; temperature?: number; top_p?: number; seed?: number; stop?: string | string[] },
    k: number,
  ) {
    const { model, tok } = this.backend.load(this.ref);
    const eos = tok.eosToken ? tok.tokenId(tok.eosToken) : undefined;
    const steps: { id: number; lp: Float32Array }[] = [];
    const { generate } = await import("../engine/generate.js");
    const g = generate(model, ids, {
      maxNewTokens: body.max_tokens ?? 64,
      temperature: body.temperature ?? 1,
      topP: body.top_p,
      seed: body.seed ?? 0,
      stopTokenIds: [...model.config.eosTokenIds, ...(eos !== undefined ? [eos] : [])],
      stopStrings: body.stop === undefined ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop],
      decode: (x) => tok.decode(x, true),
      onToken: k >= 0 ? (id, lp) => steps.push({ id, lp }) : undefined,
    });
    const name = (i: number) => tok.decode([i]);
    const content =
      k >= 0
        ? steps.slice(0, g.ids.length || steps.length).map((s) => ({
            token: name(s.id),
            logprob: s.lp[s.id],
            bytes: Array.from(Buffer.from(name(s.id))),
            top_logprobs: this.topLogprobs(s.lp, k, name),
          }))
        : null;
    return { g, content, promptTokens: ids.length };
  }

  private async chat(body: z.infer<typeof ChatRequest>) {
    const { tok } = this.backend.load(this.ref);
    const ids = tok.encodeChat(body.messages, { addGenerationPrompt: true });
    const k = body.logprobs ? (body.top_logprobs ?? 0) : -1;
    const { g, content, promptTokens } = await this.enqueue(() =>
      this.generateFor(ids, { ...body, max_tokens: body.max_completion_tokens ?? body.max_tokens }, k),
    );
    return {
      id: `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: this.name,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: g.text ?? "" },
          logprobs: content ? { content } : null,
          finish_reason: g.finishReason,
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: g.ids.length,
        total_tokens: promptTokens + g.ids.length,
      },
    };
  }

  private async completion(body: z.infer<typeof CompletionRequest>) {
    const { tok } = this.backend.load(this.ref);
    const ids = tok.encode(body.prompt);
    if (!ids.length) throw new HttpError(400, 'field "prompt": no tokens');
    const k = body.logprobs ?? -1;
    if ((body.max_tokens ?? 16) === 0) {
      // only the next-token distribution (as a 1-token scoring call would need)
      const [lp] = await this.enqueue(() => nextTokenLogprobs(this.backend.load(this.ref).model, [ids], 1));
      return {
        id: `cmpl-${Date.now().toString(36)}`,
        object: "text_completion",
        created: Math.floor(Date.now() / 1000),
        model: this.name,
        choices: [
          {
            index: 0,
            text: "",
            logprobs: {
              tokens: [],
              token_logprobs: [],
              top_logprobs: [
                Object.fromEntries(
                  this.topLogprobs(lp, Math.max(1, k), (i) => tok.decode([i])).map((t) => [t.token, t.logprob]),
                ),
              ],
              text_offset: [],
            },
            finish_reason: "length",
          },
        ],
        usage: { prompt_tokens: ids.length, completion_tokens: 0, total_tokens: ids.length },
      };
    }
    const { g, content } = await this.enqueue(() => this.generateFor(ids, body, k));
    const logprobs = content
      ? {
          tokens: content.map((c) => c.token),
          token_logprobs: content.map((c) => c.logprob),
          top_logprobs: content.map((c) => Object.fromEntries(c.top_logprobs.map((t) => [t.token, t.logprob]))),
          text_offset: [],
        }
      : null;
    return {
      id: `cmpl-${Date.now().toString(36)}`,
      object: "text_completion",
      created: Math.floor(Date.now() / 1000),
      model: this.name,
      choices: [{ index: 0, text: g.text ?? "", logprobs, finish_reason: g.finishReason }],
      usage: { prompt_tokens: ids.length, completion_tokens: g.ids.length, total_tokens: ids.length + g.ids.length },
    };
  }

  private async body(req: IncomingMessage): Promise<unknown> {
    const limit = this.o.maxBodyBytes ?? 1 << 20;
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) throw new HttpError(413, `body of ${declared} bytes exceeds the limit of ${limit}`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > limit) throw new HttpError(413, `body exceeds the limit of ${limit} bytes`);
      chunks.push(c as Buffer);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (e) {
      throw new HttpError(400, `malformed JSON: ${(e as Error).message}`);
    }
  }

  private parse<T extends z.ZodTypeAny>(schema: T, v: unknown): z.infer<T> {
    const r = schema.safeParse(v);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new HttpError(400, `field "${i.path.join(".") || "(body)"}": ${i.message}`);
    }
    return r.data;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, obj: unknown) => {
      const s = JSON.stringify(obj);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(s) });
      res.end(s);
    };
    try {
      const url = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && url === "/v1/models")
        return send(200, {
          object: "list",
          data: [{ id: this.name, object: "model", created: this.created, owned_by: "crossmon" }],
        });
      if (req.method === "GET" && url === "/health") return send(200, { ok: true, queued: this.queued });
      if (req.method !== "POST")
        throw new HttpError(url.startsWith("/v1/") ? 405 : 404, `${req.method} ${url} is not supported`);
      const routes: Record<string, (b: unknown) => Promise<unknown>> = {
        "/v1/classify": (b) => {
          const r = this.parse(ClassifyRequest, b);
          this.checkModel(r.model);
          return this.classify(r);
        },
        "/v1/chat/completions": (b) => {
          const r = this.parse(ChatRequest, b);
          this.checkModel(r.model);
          return this.chat(r);
        },
        "/v1/completions": (b) => {
          const r = this.parse(CompletionRequest, b);
          this.checkModel(r.model);
          return this.completion(r);
        },
      };
      const route = routes[url];
      if (!route) throw new HttpError(404, `no route ${url}`);
      send(200, await route(await this.body(req)));
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, (e as Error).message, "server_error");
      if (err.status >= 500) this.o.log?.(`error: ${err.message}`);
      if (!res.headersSent) send(err.status, { error: { message: err.message, type: err.type, code: err.status } });
    }
  }

  listen(): Promise<{ host: string; port: number }> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    return new Promise((resolve) => {
      this.server!.listen(this.o.port ?? 8000, this.o.host ?? "127.0.0.1", () => {
        const a = this.server!.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops accepting, lets queued work finish, then closes. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.queued || this.busy) await new Promise((r) => setTimeout(r, 10));
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections?.();
  }
}
