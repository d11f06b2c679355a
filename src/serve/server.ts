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
import { AdmissionQueue, expandedLength } from "./admission.js";
import { HttpError, typeOfStatus } from "./http-error.js";
import { responseId } from "./response-id.js";
import { chatCompletion, classification, errorBody, modelList, textCompletion } from "./responses.js";
import { ChatRequest, ClassifyRequest, CompletionRequest, DEFAULT_MAX_TOKENS } from "./schemas.js";
import {
  isItemError,
  type ClassifyItem,
  type ClassifyOutcome,
  type GenerateParams,
  type Generated,
  type NextTokens,
  type ThreadJob,
  type ThreadMessage,
  type ThreadOptions,
  type ThreadResult,
} from "./thread-protocol.js";

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

/** An answer the server waits for from the model's thread. */
interface Pending {
  resolve: (v: ThreadResult) => void;
  reject: (e: unknown) => void;
}

export class MonitorServer {
  readonly name: string;
  private server: Server | null = null;
  private thread: Worker | null = null;
  private ready: Promise<void> | null = null;
  private answers = new Map<number, Pending>();
  private nextId = 1;
  private readonly queue: AdmissionQueue;
  private closing = false;
  /** requests read and not yet answered (a shutdown waits for them) */
  private open = 0;
  private created = Math.floor(Date.now() / 1000);

  constructor(readonly o: ServeOptions) {
    // an adapter's server is named after the adapter (its folder, or the run folder holding adapter/), not its base
    const parts = (o.adapter ?? o.model).replace(/\/+$/, "").split("/");
    const last = parts.pop();
    this.name = o.name ?? ((o.adapter && last === "adapter" ? parts.pop() : last) || "model");
    this.queue = new AdmissionQueue((items) => this.classifyOnThread(items), {
      maxQueue: o.maxQueue,
      maxBatch: o.maxBatch,
    });
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
      thread.on("message", (m: ThreadMessage) => {
        if ("ready" in m) return resolve();
        if ("failed" in m) return reject(new InputError(m.failed));
        const p = this.answers.get(m.id);
        this.answers.delete(m.id);
        if (!p) return;
        if (m.ok) p.resolve(m);
        else p.reject(new HttpError(m.status, m.message, typeOfStatus(m.status)));
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

  private ask(request: ThreadJob): Promise<ThreadResult> {
    const thread = this.thread;
    if (!thread) return Promise.reject(new HttpError(503, "the model is not loaded", "server_error"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.answers.set(id, { resolve, reject });
      thread.postMessage({ ...request, id });
    });
  }

  private async classifyOnThread(items: ClassifyItem[]): Promise<ClassifyOutcome[]> {
    const a = await this.ask({ op: "classify", items });
    if (a.op !== "classify") throw new HttpError(500, `the model thread answered ${a.op} to classify`, "server_error");
    return a.result;
  }

  private async chatOnThread(job: Extract<ThreadJob, { op: "chat" }>): Promise<Generated> {
    const a = await this.ask(job);
    if (a.op !== "chat") throw new HttpError(500, `the model thread answered ${a.op} to chat`, "server_error");
    return a.result;
  }

  private async completionOnThread(job: Extract<ThreadJob, { op: "completion" }>): Promise<Generated | NextTokens> {
    const a = await this.ask(job);
    if (a.op !== "completion")
      throw new HttpError(500, `the model thread answered ${a.op} to completion`, "server_error");
    return a.result;
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

  /** Stops taking work from the queue (requests still queue, up to the limit); for maintenance and tests. */
  pause(): void {
    this.queue.pause();
  }

  resume(): void {
    this.queue.resume();
  }

  private async classify(req: z.infer<typeof ClassifyRequest>) {
    this.queue.admit();
    const textLength = req.text?.length ?? (req.messages ?? []).reduce((s, m) => s + m.content.length, 0);
    const { slots, length } = expandedLength(req.prompt, TEXT_SLOT, textLength);
    const limit = this.o.maxBodyBytes ?? 1 << 20;
    if (length > limit)
      throw new HttpError(
        400,
        `field "prompt": {text} appears ${slots} times, expanding the request to ${length} characters ` +
          `(at most ${limit})`,
      );
    const outcome = await this.queue.classify({
      prompt: req.prompt,
      text: req.text,
      messages: req.messages,
      positive: req.positive,
      negative: req.negative,
    });
    if (isItemError(outcome)) throw new HttpError(outcome.status, outcome.error, typeOfStatus(outcome.status));
    return classification(this.name, outcome);
  }

  private stamp(prefix: "chatcmpl" | "cmpl") {
    return { id: responseId(prefix), created: Math.floor(Date.now() / 1000), model: this.name };
  }

  private async chat(body: z.infer<typeof ChatRequest>) {
    const max_tokens = body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS.chat;
    const params: GenerateParams = { ...body, max_tokens };
    const topLogprobs = body.logprobs ? (body.top_logprobs ?? 0) : -1;
    const job = { op: "chat" as const, messages: body.messages, params, topLogprobs };
    const r = await this.queue.run(() => this.chatOnThread(job));
    return chatCompletion(this.stamp("chatcmpl"), r);
  }

  private async completion(body: z.infer<typeof CompletionRequest>) {
    const job = {
      op: "completion" as const,
      prompt: body.prompt,
      params: { ...body, max_tokens: body.max_tokens ?? DEFAULT_MAX_TOKENS.completion },
      topLogprobs: body.logprobs ?? -1,
    };
    const r = await this.queue.run(() => this.completionOnThread(job));
    return textCompletion(this.stamp("cmpl"), r);
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
      if (req.method === "GET" && url === "/v1/models") return send(200, modelList(this.name, this.created));
      if (req.method === "GET" && url === "/health") return send(200, { ok: true, queued: this.queue.queued });
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
      if (!res.headersSent) send(err.status, errorBody(err.status, err.message, err.type));
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
    this.queue.close();
    this.server?.close();
    this.server?.closeIdleConnections?.();
    while (!this.queue.idle || this.open) await new Promise((r) => setTimeout(r, 10));
    this.server?.closeAllConnections?.();
    await this.thread?.terminate();
    this.thread = null;
  }
}
