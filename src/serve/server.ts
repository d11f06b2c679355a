/**
 * `crossmon serve`: a model (optionally with a LoRA adapter) behind an OpenAI-compatible HTTP API —
 * /v1/models, /v1/chat/completions, /v1/completions — and a monitor endpoint, POST /v1/classify, that returns
 * P(positive) and the label.
 *
 * What keeps it standing: the model lives in a thread of its own (model-thread.ts), so this event loop only reads,
 * admits and answers; admission comes first (body size, how far a prompt template expands its text, queue room) and
 * the prompt's token count is checked before the model runs; header, body and keep-alive timeouts are set; on
 * shutdown every request already accepted gets its answer or a 503, never a reset. Concurrent classify requests are
 * batched into one forward pass; a bounded queue answers 429 when full; bad JSON or fields are 400s with the reason;
 * oversize bodies 413; unknown models 404; it binds to 127.0.0.1 unless told otherwise.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import type { z } from "zod";
import { InputError } from "../core/errors.js";
import { hostAllowed, hostRefusal } from "../core/host-check.js";
import { threadEntry } from "../core/thread-entry.js";
import { TEXT_SLOT } from "../data/task.js";
import type { ClassifyItem, GenerateParams, ThreadAnswer, ThreadJob, ThreadOptions } from "./model-thread.js";
import { responseId } from "./response-id.js";
import { ChatRequest, ClassifyRequest, CompletionRequest, DEFAULT_MAX_TOKENS } from "./schemas.js";

export interface ServeOptions {
  /** model folder or hub id */
  model: string;
  adapter?: string;
  /** the name clients use in "model" (default: the folder's name) */
  name?: string;
  host?: string;
  port?: number;
  maxBatch?: number;
  maxQueue?: number;
  maxBodyBytes?: number;
  /** the classify prompt's budget: longer texts lose their middle */
  maxTokens?: number;
  /** the longest chat or completion prompt, in tokens (default: the model's context) */
  maxPromptTokens?: number;
  /** how long a client may take to send its headers, and its whole request (ms) */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** how long an idle keep-alive connection stays open (ms) */
  keepAliveTimeoutMs?: number;
  /** open connections at most (past them new ones are closed at once), so held connections cannot use up descriptors */
  maxConnections?: number;
  /** Host names served besides the bound address and loopback names (DNS rebinding protection) */
  allowedHosts?: string[];
  log?: (line: string) => void;
}

export const SERVE_DEFAULTS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Job = { request: ThreadJob } & Pending;
type ClassifyJob = { item: ClassifyItem } & Pending;

export class MonitorServer {
  readonly name: string;
  private server: Server | null = null;
  private thread: Worker | null = null;
  private ready: Promise<void> | null = null;
  private answers = new Map<number, Pending>();
  private nextId = 1;
  private classifyQueue: ClassifyJob[] = [];
  private jobs: Job[] = [];
  private busy = false;
  private closing = false;
  private paused = false;
  /** requests read and not yet answered (a shutdown waits for them) */
  private open = 0;
  private created = Math.floor(Date.now() / 1000);

  constructor(readonly o: ServeOptions) {
    // an adapter's server is named after the adapter (its folder, or the run folder holding adapter/), not its base
    const parts = (o.adapter ?? o.model).replace(/\/+$/, "").split("/");
    const last = parts.pop();
    this.name = o.name ?? ((o.adapter && last === "adapter" ? parts.pop() : last) || "model");
  }

  private get queued(): number {
    return this.classifyQueue.length + this.jobs.length;
  }

  /** Starts the model's thread; resolves once the model is loaded, or rejects with why it could not be. */
  private startThread(): Promise<void> {
    const data: ThreadOptions = {
      model: this.o.model,
      adapter: this.o.adapter,
      maxTokens: this.o.maxTokens ?? 2048,
      maxPromptTokens: this.o.maxPromptTokens ?? 0,
    };
    const thread = new Worker(threadEntry(import.meta.url, "model-thread"), { workerData: data });
    this.thread = thread;
    return new Promise((resolve, reject) => {
      thread.on("message", (m: ThreadAnswer | { ready: true } | { failed: string }) => {
        if ("ready" in m) return resolve();
        if ("failed" in m) return reject(new InputError(m.failed));
        const p = this.answers.get(m.id);
        this.answers.delete(m.id);
        if (!p) return;
        if (m.ok) p.resolve(m.result);
        else p.reject(new HttpError(m.status, m.message, m.status >= 500 ? "server_error" : "invalid_request_error"));
      });
      // a thread that fails or ends answers what it owed with a 500, and later requests with a 503 (never a hang)
      const gone = (why: string) => {
        if (this.thread === thread) this.thread = null;
        for (const p of this.answers.values()) p.reject(new HttpError(500, why, "server_error"));
        this.answers.clear();
      };
      thread.on("error", (e) => {
        reject(e);
        gone(`the model thread failed: ${e.message}`);
        this.o.log?.(`error: the model thread failed: ${e.message}`);
      });
      thread.on("exit", (code) => {
        reject(new Error(`the model thread exited (code ${code}) before it was ready`));
        gone(`the model thread exited (code ${code})`);
      });
    });
  }

  private ask(request: ThreadJob): Promise<unknown> {
    const thread = this.thread;
    if (!thread) return Promise.reject(new HttpError(503, "the model is not loaded", "server_error"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.answers.set(id, { resolve, reject });
      thread.postMessage({ ...request, id });
    });
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

  /** One request at a time on the model's thread, classify batches first. */
  private pump(): void {
    if (this.busy || this.paused) return;
    if (this.classifyQueue.length) {
      const batch = this.classifyQueue.splice(0, this.o.maxBatch ?? 16);
      this.busy = true;
      this.ask({ op: "classify", items: batch.map((j) => j.item) })
        .then((results) =>
          (results as ({ error: string; status: number } | Record<string, unknown>)[]).forEach((r, i) => {
            if ("error" in r) batch[i].reject(new HttpError(r.status as number, r.error as string));
            else batch[i].resolve({ ...r, model: this.name });
          }),
        )
        .catch((e) => {
          for (const j of batch) j.reject(e);
        })
        .finally(() => this.done());
    } else if (this.jobs.length) {
      const j = this.jobs.shift() as Job;
      this.busy = true;
      this.ask(j.request)
        .then(j.resolve, j.reject)
        .finally(() => this.done());
    }
  }

  private done(): void {
    this.busy = false;
    this.pump();
  }

  private enqueue(request: ThreadJob): Promise<unknown> {
    this.admit();
    return new Promise((resolve, reject) => {
      this.jobs.push({ request, resolve, reject });
      this.pump();
    });
  }

  private classify(req: z.infer<typeof ClassifyRequest>): Promise<unknown> {
    this.admit();
    // a template that repeats {text} multiplies it: refuse what would expand past the body limit, before any work
    const slots = Math.max(1, req.prompt.split(TEXT_SLOT).length - 1);
    const textLength = req.text?.length ?? (req.messages ?? []).reduce((s, m) => s + m.content.length, 0);
    const expanded = req.prompt.length + slots * textLength;
    const limit = this.o.maxBodyBytes ?? 1 << 20;
    if (expanded > limit)
      throw new HttpError(
        400,
        `field "prompt": {text} appears ${slots} times, expanding the request to ${expanded} characters ` +
          `(at most ${limit})`,
      );
    const item: ClassifyItem = {
      prompt: req.prompt,
      text: req.text,
      messages: req.messages,
      positive: req.positive,
      negative: req.negative,
    };
    return new Promise((resolve, reject) => {
      this.classifyQueue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private async chat(body: z.infer<typeof ChatRequest>) {
    const max_tokens = body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS.chat;
    const params: GenerateParams = { ...body, max_tokens };
    const k = body.logprobs ? (body.top_logprobs ?? 0) : -1;
    const r = (await this.enqueue({ op: "chat", messages: body.messages, params, topLogprobs: k })) as Generated;
    return {
      id: responseId("chatcmpl"),
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: this.name,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: r.text },
          logprobs: r.content ? { content: r.content } : null,
          finish_reason: r.finishReason,
        },
      ],
      usage: usage(r.promptTokens, r.completionTokens),
    };
  }

  private async completion(body: z.infer<typeof CompletionRequest>) {
    const k = body.logprobs ?? -1;
    const r = (await this.enqueue({
      op: "completion",
      prompt: body.prompt,
      params: { ...body, max_tokens: body.max_tokens ?? DEFAULT_MAX_TOKENS.completion },
      topLogprobs: k,
    })) as Generated;
    const base = {
      id: responseId("cmpl"),
      object: "text_completion",
      created: Math.floor(Date.now() / 1000),
    };
    if (r.next) {
      // max_tokens 0: only the next-token distribution (as a 1-token scoring call would need)
      const top = Object.fromEntries(r.next.map((t) => [t.token, t.logprob]));
      return {
        ...base,
        model: this.name,
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
      model: this.name,
      choices: [{ index: 0, text: r.text, logprobs, finish_reason: r.finishReason }],
      usage: usage(r.promptTokens, r.completionTokens),
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
    this.open++;
    try {
      if (!hostAllowed(req.headers.host, req.socket.localAddress, this.o.allowedHosts))
        throw new HttpError(403, hostRefusal(req.headers.host ?? ""));
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
      // JSON only: a browser page on another site can POST text/plain without asking first, never JSON
      const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "application/json" && !type.endsWith("+json"))
        throw new HttpError(415, `the body must be JSON (Content-Type: application/json), not ${type || "untyped"}`);
      if (this.closing) throw new HttpError(503, "the server is shutting down", "server_error");
      send(200, await route(await this.body(req)));
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, (e as Error).message, "server_error");
      if (err.status >= 500) this.o.log?.(`error: ${err.message}`);
      if (!res.headersSent) send(err.status, { error: { message: err.message, type: err.type, code: err.status } });
    } finally {
      this.open--;
    }
  }

  /**
   * Binds and loads the model (in its thread) at once, and resolves when both are done: a port in use, or an address
   * that cannot be bound, is an InputError naming the flag before a large model is read for nothing.
   */
  async listen(): Promise<{ host: string; port: number }> {
    this.ready ??= this.startThread();
    const bound = this.bind();
    try {
      const [where] = await Promise.all([bound, this.ready]);
      return where;
    } catch (e) {
      await this.thread?.terminate();
      this.server?.close();
      throw e;
    }
  }

  private bind(): Promise<{ host: string; port: number }> {
    const requestTimeout = this.o.requestTimeoutMs ?? SERVE_DEFAULTS.requestTimeoutMs;
    const server = createServer(
      {
        headersTimeout: Math.min(requestTimeout, this.o.headersTimeoutMs ?? SERVE_DEFAULTS.headersTimeoutMs),
        requestTimeout,
        keepAliveTimeout: this.o.keepAliveTimeoutMs ?? SERVE_DEFAULTS.keepAliveTimeoutMs,
        // how often Node looks for requests past their timeouts (its default, 30 s, would let them run that long)
        connectionsCheckingInterval: Math.min(1000, requestTimeout / 2),
      },
      (req, res) => void this.handle(req, res),
    );
    server.maxConnections = this.o.maxConnections ?? SERVE_DEFAULTS.maxConnections;
    this.server = server;
    const host = this.o.host ?? "127.0.0.1";
    const port = this.o.port ?? 8000;
    return new Promise((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => {
        const why =
          e.code === "EADDRINUSE"
            ? `--port ${port}: ${host}:${port} is already in use (another server is listening there)`
            : e.code === "EACCES"
              ? `--port ${port}: not allowed to bind ${host}:${port}`
              : `--host ${host}: cannot listen there (${e.code ?? e.message})`;
        reject(new InputError(why));
      });
      server.listen(port, host, () => {
        const a = server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /**
   * Stops accepting connections; requests already read are answered (new ones on open connections get a 503), the
   * queue drains, and only then do connections close and the model's thread end.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.server?.close();
    this.server?.closeIdleConnections?.();
    while (this.queued || this.busy || this.open) await new Promise((r) => setTimeout(r, 10));
    this.server?.closeAllConnections?.();
    await this.thread?.terminate();
    this.thread = null;
  }
}

/**
 * The thread's module: built, the .js beside this file; from source, the .ts, which a worker cannot load by itself
 * (it does not inherit the parent's loader), so a one-line entry registers tsx's loader in the thread first.
 */
interface Generated {
  promptTokens: number;
  completionTokens: number;
  text: string;
  finishReason: string;
  content: { token: string; logprob: number; top_logprobs: { token: string; logprob: number }[] }[] | null;
  next?: { token: string; logprob: number }[];
}

function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
