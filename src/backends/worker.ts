/**
 * The GPU path: python/worker.py (PyTorch + transformers + peft) started as a child process and spoken to in JSON
 * lines. It implements the same backend interface; token ids and loss weights come from crossmon's renderer, so
 * the two paths train and score identical tokens.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import type { Backend, Candidate, GenerateRequest, Generated, ModelRef, ScorePrompt } from "./types.js";
import type { TrainSpec } from "../train/spec.js";
import { buildMixture } from "../mix/mixture.js";
import { mixtureOf, scheduleOf, stageSeed, trainingContext, type TrainContext } from "../train/run.js";
import { resolveModelDir } from "../hub/resolve.js";
import { resolveTargets } from "../engine/lora.js";
import { readConfig } from "../engine/config.js";
import { linearNamesOf } from "../engine/model.js";
import { learningRate } from "../engine/optim.js";

/** The worker reads folders: a hub id is sent as its snapshot in the Hugging Face cache. */
function resolvedBody(body: Record<string, unknown>): Record<string, unknown> {
  const model = body.model as ModelRef | undefined;
  const init = body.init_adapter as string | null | undefined;
  return {
    ...body,
    ...(model
      ? {
          model: {
            ...model,
            base: resolveModelDir(model.base),
            ...(model.adapter ? { adapter: resolveModelDir(model.adapter, "adapter") } : {}),
          },
        }
      : {}),
    ...(init ? { init_adapter: resolveModelDir(init, "adapter") } : {}),
  };
}

export function workerScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "python", "worker.py")) && dir !== dirname(dir)) dir = dirname(dir);
  return join(dir, "python", "worker.py");
}

/** Whether this machine can run the worker; the reason when it cannot. */
export function workerAvailable(
  python = process.env.CROSSMON_PYTHON ?? "python3",
): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync(python, ["-c", "import torch, transformers, peft"], { encoding: "utf8" });
  return r.status === 0
    ? { ok: true }
    : {
        ok: false,
        reason:
          `${python} cannot import torch, transformers and peft ` +
          `(${(r.stderr || r.error?.message || "").trim().split("\n").pop()})`,
      };
}

const STDERR_TAIL_CHARS = 16_000;
const STDERR_TAIL_LINES = 8;

export class WorkerBackend implements Backend {
  readonly name = "torch-worker";
  readonly capabilities = { score: true, generate: true, train: true };
  private proc: ChildProcessWithoutNullStreams;
  private next = 1;
  private waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  /** the end of what the worker wrote to stderr: read all along (a full pipe would block it), shown when it dies */
  private stderrTail = "";
  /** why the worker can take no more requests, once it has exited or could not start */
  private dead: string | null = null;

  constructor(
    python = process.env.CROSSMON_PYTHON ?? "python3",
    readonly decode?: (ids: number[]) => string,
  ) {
    this.proc = spawn(python, [workerScript()], { stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.proc.stdout }).on("line", (line) => {
      let msg: { id: number; ok: boolean; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        // not the protocol (a library printing on stdout): keep it with the stderr lines, for the record
        this.keep(`${line}\n`);
        return;
      }
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.ok) w.resolve(msg as unknown as Record<string, unknown>);
      else w.reject(new Error(`worker: ${msg.error}`));
    });
    this.proc.stderr.on("data", (d: Buffer) => this.keep(d.toString("utf8")));
    this.proc.stdin.on("error", () => {}); // a write after the worker died: the exit handler reports it
    this.proc.on("error", (e) => this.fail(`the worker could not start (${python}): ${e.message}`));
    this.proc.on("exit", (code, signal) => this.fail(`the worker exited (${signal ?? `code ${code}`})`));
  }

  private keep(text: string): void {
    this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
  }

  private fail(why: string): void {
    if (this.dead) return;
    // the last lines it wrote (progress bars redraw with \r: keep what each line ended as)
    const tail = this.stderrTail
      .split("\n")
      .map((l) => l.split("\r").pop()!.trimEnd())
      .filter(Boolean)
      .slice(-STDERR_TAIL_LINES)
      .join("\n");
    this.dead = tail ? `${why}; its last words:\n${tail}` : why;
    for (const w of this.waiting.values()) w.reject(new Error(this.dead));
    this.waiting.clear();
  }

  call(op: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    let sent: Record<string, unknown>;
    try {
      sent = resolvedBody(body);
    } catch (e) {
      return Promise.reject(e);
    }
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.proc.stdin.write(`${JSON.stringify({ id, op, ...sent })}\n`);
    });
  }

  async score(model: ModelRef, prompts: ScorePrompt[], candidates: Candidate[]): Promise<number[][]> {
    const r = await this.call("score", {
      model,
      prompts: prompts.map((p) => p.ids),
      candidates: candidates.map((c) => c.id),
    });
    return r.logprobs as number[][];
  }

  async logits(model: ModelRef, ids: number[][]): Promise<number[][][]> {
    return (await this.call("logits", { model, ids })).logits as number[][][];
  }

  async generate(model: ModelRef, reqs: GenerateRequest[]): Promise<Generated[]> {
    const r = await this.call("generate", {
      model,
      requests: reqs.map((q) => ({
        prompt: q.prompt,
        max_new_tokens: q.maxNewTokens,
        temperature: q.temperature,
        top_p: q.topP ?? 1,
        seed: q.seed,
      })),
    });
    return (r.outputs as { ids: number[] }[]).map((o, i) => {
      const text = this.decode ? this.decode(o.ids) : "";
      // stop strings are applied here, as the engine applies them: the text ends before the first one
      const cut = Math.min(...(reqs[i].stop ?? []).map((s) => text.indexOf(s)).filter((x) => x >= 0));
      const stopped = Number.isFinite(cut) || o.ids.length < reqs[i].maxNewTokens;
      return {
        ids: o.ids,
        text: Number.isFinite(cut) ? text.slice(0, cut) : text,
        finishReason: stopped ? "stop" : "length",
      };
    });
  }

  /** LoRA training on the worker with crossmon's batches (one stage after the other, one request per stage). */
  async train(spec: TrainSpec, dir: string, o: { context?: unknown } = {}): Promise<ModelRef> {
    if (spec.method !== "lora") throw new Error("the worker trains LoRA adapters only");
    const ctx = (o.context as TrainContext | undefined) ?? (await trainingContext(spec));
    let adapter = "";
    for (let i = 0; i < spec.stages.length; i++) {
      const mix = buildMixture(mixtureOf(spec, i), ctx.splits, ctx.ifPool, ctx.renderer);
      const sched = scheduleOf(
        mix.items,
        spec.stages[i].epochs ?? spec.hyper.epochs,
        spec.hyper.batch_size,
        spec.hyper.batch_size,
        stageSeed(spec.seed, i, "schedule"),
      );
      const batches = Array.from({ length: sched.steps }, (_, s) =>
        sched.itemsAt(s).map((it) => ({ ids: Array.from(it.ids), weights: Array.from(it.weights) })),
      );
      // the engine's schedule, step by step, so both paths train at the same rates
      const schedule = {
        warmupSteps: Math.round(spec.hyper.warmup * sched.steps),
        kind: spec.hyper.schedule,
        minRatio: 0,
        totalSteps: sched.steps,
      };
      const lrs = batches.map((_, s) => learningRate(spec.stages[i].lr ?? spec.hyper.lr, s, schedule));
      const out = join(dir, `adapter-${i + 1}`);
      // each stage continues from the adapter the previous one wrote
      const r = await this.call("train", {
        model: { base: spec.base_model },
        lora: {
          r: spec.lora.rank,
          alpha: spec.lora.alpha,
          dropout: spec.lora.dropout,
          targets: resolveTargets(spec.lora.targets, linearNamesOf(readConfig(spec.base_model))),
        },
        batches,
        lrs,
        weight_decay: spec.hyper.weight_decay,
        max_grad_norm: spec.hyper.max_grad_norm,
        init_adapter: adapter || null,
        out,
        seed: spec.seed,
      });
      // the same metrics file as an in-process run, one line per step
      mkdirSync(dir, { recursive: true });
      appendFileSync(
        join(dir, "metrics.jsonl"),
        (r.losses as number[])
          .map(
            (loss, s) =>
              `${JSON.stringify({ step: s, loss, lr: lrs[s], stage: spec.stages[i].name, backend: this.name })}\n`,
          )
          .join(""),
      );
      adapter = out;
    }
    return { base: spec.base_model, adapter };
  }

  close(): void {
    this.proc.stdin.end();
  }
}
