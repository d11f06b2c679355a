/**
 * The server's admission queue: what it accepts and in which order the model's thread gets it. Requests wait in two
 * lines, classify items and generation jobs; one thing runs at a time, classify items first and in batches (one
 * forward pass scores a batch). Past `maxQueue` waiting, and while shutting down, a request is refused at once (429,
 * 503) rather than left to wait without bound.
 */
import { HttpError } from "./http-error.js";
import type { ClassifyItem, ClassifyOutcome } from "./thread-protocol.js";

/** How a batch of classify items reaches the model (generation jobs bring their own work). */
export type BatchRunner = (items: ClassifyItem[]) => Promise<ClassifyOutcome[]>;

interface Waiting<T> {
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export const QUEUE_DEFAULTS = { maxQueue: 256, maxBatch: 16 };

export class AdmissionQueue {
  private items: ({ item: ClassifyItem } & Waiting<ClassifyOutcome>)[] = [];
  private jobs: { run: () => Promise<void> }[] = [];
  private running = false;
  private paused = false;
  private closing = false;

  constructor(
    private readonly classifyBatch: BatchRunner,
    private readonly limits: { maxQueue?: number; maxBatch?: number } = {},
  ) {}

  /** Requests waiting (not the one running). */
  get queued(): number {
    return this.items.length + this.jobs.length;
  }

  /** Whether anything is waiting or running (a shutdown waits until nothing is). */
  get idle(): boolean {
    return !this.running && this.queued === 0;
  }

  /** Refuses a request now if it could not be queued: shutting down (503) or the queue full (429). */
  admit(): void {
    if (this.closing) throw new HttpError(503, "the server is shutting down", "server_error");
    if (this.queued >= (this.limits.maxQueue ?? QUEUE_DEFAULTS.maxQueue))
      throw new HttpError(429, "the request queue is full; retry later", "rate_limit_error");
  }

  /** From now on every new request is refused with a 503; what is queued still runs. */
  close(): void {
    this.closing = true;
  }

  classify(item: ClassifyItem): Promise<ClassifyOutcome> {
    this.admit();
    return new Promise((resolve, reject) => {
      this.items.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Queues one generation job: `work` starts when the model is free. */
  run<T>(work: () => Promise<T>): Promise<T> {
    this.admit();
    return new Promise((resolve, reject) => {
      this.jobs.push({ run: () => work().then(resolve, reject) });
      this.pump();
    });
  }

  /** Stops taking work from the queue (requests still queue, up to the limit); for maintenance and tests. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  private pump(): void {
    if (this.running || this.paused) return;
    let work: Promise<void> | null = null;
    if (this.items.length) {
      const batch = this.items.splice(0, this.limits.maxBatch ?? QUEUE_DEFAULTS.maxBatch);
      work = this.classifyBatch(batch.map((w) => w.item)).then(
        (outcomes) => batch.forEach((w, i) => w.resolve(outcomes[i])),
        (e) => {
          for (const w of batch) w.reject(e);
        },
      );
    } else {
      work = this.jobs.shift()?.run() ?? null;
    }
    if (!work) return;
    this.running = true;
    void work.finally(() => {
      this.running = false;
      this.pump();
    });
  }
}

/**
 * How long a classify prompt becomes once its template's {text} slots are filled: a template that repeats {text}
 * multiplies it, and this is refused against the body limit before any work.
 */
export function expandedLength(prompt: string, slot: string, textLength: number): { slots: number; length: number } {
  const slots = Math.max(1, prompt.split(slot).length - 1);
  return { slots, length: prompt.length + slots * textLength };
}
