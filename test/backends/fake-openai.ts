/**
 * A loopback stand-in for an OpenAI-compatible fine-tuning API: the files route (multipart upload), fine-tuning jobs
 * (create, retrieve; each retrieve moves a job on: queued → running → succeeded, or failed on request) and chat
 * completions with top log-probabilities for "Yes" and "No" (a deterministic function of the model and the prompt).
 * Faults on request: 429s before a job is created, a job that fails. Every request is logged.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface Job {
  id: string;
  model: string;
  training_file: string;
  status: string;
  polls: number;
  fails: boolean;
  body: Record<string, unknown>;
}

export class FakeOpenAI {
  readonly files = new Map<string, string>();
  readonly jobs = new Map<string, Job>();
  readonly log: { method: string; url: string; model?: string }[] = [];
  /** answer this many job creations with 429 before accepting one */
  rateLimitCreates = 0;
  /** the next job created fails at its second retrieve */
  failNext = false;
  /** job creations answered 429 so far */
  limited = 0;
  private server: Server | null = null;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((ok) => this.server!.listen(0, "127.0.0.1", ok));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  close(): Promise<void> {
    return new Promise((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    const url = req.url ?? "";
    const json = () => JSON.parse(raw.toString("utf8") || "{}") as Record<string, unknown>;
    if (req.method === "POST" && url === "/v1/files") {
      this.log.push({ method: "POST", url });
      const id = `file-${this.files.size + 1}`;
      this.files.set(id, fileOf(raw, req.headers["content-type"] ?? ""));
      return send(200, {
        id,
        object: "file",
        bytes: raw.length,
        created_at: 0,
        filename: "x.jsonl",
        purpose: "fine-tune",
      });
    }
    if (req.method === "POST" && url === "/v1/fine_tuning/jobs") {
      this.log.push({ method: "POST", url });
      if (this.limited < this.rateLimitCreates) {
        this.limited++;
        return send(429, { error: { message: "Rate limit reached", type: "rate_limit" } }, { "retry-after-ms": "10" });
      }
      const body = json();
      if (!this.files.has(String(body.training_file)))
        return send(400, { error: { message: `no file ${String(body.training_file)}` } });
      const id = `ftjob-${this.jobs.size + 1}`;
      const job: Job = {
        id,
        model: String(body.model),
        training_file: String(body.training_file),
        status: "queued",
        polls: 0,
        fails: this.failNext,
        body,
      };
      this.failNext = false;
      this.jobs.set(id, job);
      return send(200, view(job));
    }
    const m = /^\/v1\/fine_tuning\/jobs\/([^/]+)$/.exec(url);
    if (req.method === "GET" && m) {
      this.log.push({ method: "GET", url });
      const job = this.jobs.get(m[1]);
      if (!job) return send(404, { error: { message: "no such job" } });
      job.polls++;
      job.status = job.polls === 1 ? "running" : job.fails ? "failed" : "succeeded";
      return send(200, view(job));
    }
    if (req.method === "POST" && url === "/v1/chat/completions") {
      const body = json();
      const model = String(body.model);
      this.log.push({ method: "POST", url, model });
      if (!model.startsWith("ft:") && model !== "base-model") return send(404, { error: { message: "no model" } });
      const h = createHash("sha256").update(model).update(JSON.stringify(body.messages)).digest();
      const p = 0.1 + (0.8 * h.readUInt16BE(0)) / 65535;
      const top = [
        { token: "Yes", logprob: Math.log(p), bytes: null },
        { token: "No", logprob: Math.log(1 - p), bytes: null },
      ];
      return send(200, {
        id: "chatcmpl-1",
        object: "chat.completion",
        created: 0,
        model,
        choices: [
          {
            index: 0,
            finish_reason: "length",
            message: { role: "assistant", content: "Yes" },
            logprobs: { content: [{ ...top[0], top_logprobs: top }] },
          },
        ],
      });
    }
    send(404, { error: { message: `no route ${req.method} ${url}` } });
  }
}

function view(j: Job): Record<string, unknown> {
  return {
    id: j.id,
    object: "fine_tuning.job",
    model: j.model,
    training_file: j.training_file,
    status: j.status,
    created_at: 0,
    fine_tuned_model: j.status === "succeeded" ? `ft:${j.model}:crossmon:${j.id}` : null,
    trained_tokens: j.status === "succeeded" ? 1234 : null,
    error: j.status === "failed" ? { code: "invalid_training_file", message: "Training file has an error" } : null,
    hyperparameters: {},
    organization_id: "org",
    result_files: [],
    seed: 0,
    finished_at: null,
    validation_file: null,
  };
}

/** The uploaded file's bytes from a multipart body (the part that carries a filename). */
function fileOf(raw: Buffer, contentType: string): string {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!boundary) return "";
  const parts = raw.toString("utf8").split(`--${boundary[1] ?? boundary[2]}`);
  const part = parts.find((p) => /filename="/.test(p)) ?? "";
  const at = part.indexOf("\r\n\r\n");
  return at < 0 ? "" : part.slice(at + 4).replace(/\r\n$/, "");
}
